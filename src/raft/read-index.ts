/**
 * Read-index bookkeeping on the leader: each read remembers the commit index at the time it was
 * asked, and is released once a quorum of voters has answered the heartbeat round carrying its
 * context (proof that we still led when the read was asked).
 */
import { hasQuorum } from './quorum.js';
import type { NodeId, ReadState } from './types.js';

interface PendingRead {
  context: string;
  index: number;
  acks: Set<NodeId>;
}

export class ReadIndexQueue {
  private pending: PendingRead[] = [];
  /** Reads asked before this term committed anything: started once it has. */
  private waiting: string[] = [];

  clear(): void {
    this.pending = [];
    this.waiting = [];
  }

  wait(context: string): void {
    this.waiting.push(context);
  }

  takeWaiting(): string[] {
    const w = this.waiting;
    this.waiting = [];
    return w;
  }

  hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  add(context: string, index: number, self: NodeId): void {
    this.pending.push({ context, index, acks: new Set([self]) });
  }

  /** Record `from`'s answer; returns the reads it releases (this one and every older one). */
  ack(from: NodeId, context: string, voters: readonly NodeId[]): ReadState[] {
    const at = this.pending.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const req = this.pending[at];
    req.acks.add(from);
    if (!hasQuorum(voters, (id) => req.acks.has(id))) return [];
    return this.pending.splice(0, at + 1).map((r) => ({ index: r.index, context: r.context }));
  }
}
