/**
 * One node's share of the replicated cluster state: a RaftDriver over the node's log storage,
 * applying committed entries to a ClusterState. It knows nothing about sockets: messages go out
 * through the `send` port (cluster wiring hands them to the peer links) and come in through
 * `receive`. A node that is the only voter campaigns at once instead of waiting out an election
 * timeout, so a cluster of one leads as soon as it starts.
 */
import {
  RaftDriver,
  type Committed,
  type DriverClock,
  type Entry,
  type Message,
  type NodeId,
  type RaftStatus,
  type Snapshot,
  type SoftState,
  type WritableLogStorage,
} from '../raft/index.js';
import { ClusterState, type Outcome } from './cluster-state.js';
import { encodeCommand, type ClusterCommand } from './commands.js';
import type { Leadership } from './leadership.js';

export interface RaftTiming {
  /** Leader heartbeat, and the tick of the Raft clock. */
  heartbeatMs: number;
  /** Election timeout bounds; the core draws each timeout in [min, max). */
  electionMinMs: number;
  electionMaxMs: number;
}

export const DEFAULT_RAFT_TIMING: RaftTiming = { heartbeatMs: 50, electionMinMs: 500, electionMaxMs: 1000 };

export interface ClusterRaftOptions {
  raftId: NodeId;
  /** Opened by the caller: `FileStorage` under KICI_DATA_DIR/raft in production. */
  storage: WritableLogStorage;
  clock: DriverClock;
  random: () => number;
  timing?: RaftTiming;
  send(messages: Message[]): void;
  /** Compact the log every this many applied entries (default 1000). */
  snapshotEvery?: number;
  onFatal?(error: Error): void;
  /** A listener (onApplied, leadership) threw: reported here, never allowed to stop Raft. */
  onListenerError?(error: Error): void;
}

/** How many recent outcomes the leader keeps for proposals still waiting to learn theirs. */
const OUTCOMES_KEPT = 1024;

export class ClusterRaft {
  readonly state = new ClusterState();
  private readonly driver: RaftDriver;
  private readonly outcomes = new Map<number, Outcome>();
  private readonly listeners = new Set<(leader: boolean, term: number) => void>();
  private readonly appliedListeners = new Set<(index: number) => void>();
  private readonly onListenerError: ((error: Error) => void) | undefined;

  constructor(opts: ClusterRaftOptions) {
    const timing = opts.timing ?? DEFAULT_RAFT_TIMING;
    this.onListenerError = opts.onListenerError;
    this.driver = new RaftDriver({
      node: {
        id: opts.raftId,
        heartbeatTick: 1,
        electionTick: Math.round(timing.electionMinMs / timing.heartbeatMs),
        electionTickMax: Math.max(Math.round(timing.electionMinMs / timing.heartbeatMs) + 1, Math.round(timing.electionMaxMs / timing.heartbeatMs)),
        random: opts.random,
      },
      storage: opts.storage,
      clock: opts.clock,
      tickMs: timing.heartbeatMs,
      send: opts.send,
      apply: (entries) => this.apply(entries),
      restore: (snap) => this.restore(snap),
      onSoftState: (s) => this.softStateChanged(s),
      snapshot: { every: opts.snapshotEvery ?? 1000, data: () => this.state.snapshot() },
      onFatal: opts.onFatal,
    });
    const { voters } = this.driver.status().conf;
    if (voters.length === 1 && voters[0] === opts.raftId) this.driver.campaign();
  }

  /** A Raft message from a peer (already validated by the transport). */
  receive(m: Message): void {
    this.driver.receive(m);
  }

  /** Propose a command; resolves with what applying it did (refusals included), on the leader. */
  async propose(command: ClusterCommand): Promise<Outcome & Committed> {
    const at = await this.driver.propose(encodeCommand(command));
    const outcome = this.outcomes.get(at.index) ?? { applied: false, reason: 'outcome not kept' };
    this.outcomes.delete(at.index);
    return { ...outcome, ...at };
  }

  addLearner(raftId: NodeId): Promise<Committed> {
    return this.driver.proposeConfChange({ type: 'add_learner', node: raftId });
  }

  promote(raftId: NodeId): Promise<Committed> {
    return this.driver.proposeConfChange({ type: 'promote', node: raftId });
  }

  remove(raftId: NodeId): Promise<Committed> {
    return this.driver.proposeConfChange({ type: 'remove', node: raftId });
  }

  /** A linearizable read point: the state is current once this resolves. */
  async readBarrier(): Promise<void> {
    await this.driver.readIndex();
  }

  reportUnreachable(raftId: NodeId): void {
    this.driver.reportUnreachable(raftId);
  }

  reportSnapshot(raftId: NodeId, failed: boolean): void {
    this.driver.reportSnapshot(raftId, failed);
  }

  status(): RaftStatus {
    return this.driver.status();
  }

  failure(): Error | undefined {
    return this.driver.failure();
  }

  /** Leadership as coordinator duties need it: leading, and sure of it (the lease holds). */
  leadership(): Leadership {
    return {
      isLeader: () => this.driver.isLeader() && (this.isSoleVoter() || this.driver.leaseValid()),
      term: () => this.driver.status().term,
      onChange: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }

  /** Called after each batch of entries is applied to the state, with the last index applied. */
  onApplied(listener: (index: number) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  stop(): void {
    this.driver.stop();
  }

  private isSoleVoter(): boolean {
    const { id, conf } = this.driver.status();
    return conf.voters.length === 1 && conf.voters[0] === id;
  }

  private apply(entries: Entry[]): void {
    // Undefined while the driver's constructor applies what the log already holds.
    const leading = (this.driver as RaftDriver | undefined)?.isLeader() ?? false;
    for (const e of entries) {
      if (e.type !== 'normal' || e.data.length === 0) continue;
      const outcome = this.state.apply(e.data);
      if (!leading) continue;
      this.outcomes.set(e.index, outcome);
      this.outcomes.delete(e.index - OUTCOMES_KEPT);
    }
    this.applied(entries[entries.length - 1].index);
  }

  private restore(snap: Snapshot): void {
    this.state.restore(snap.data);
    // A follower that catches up by snapshot learns revocations and the shard map from it too.
    this.applied(snap.meta.index);
  }

  private applied(index: number): void {
    for (const l of this.appliedListeners) this.guarded(() => l(index));
  }

  private softStateChanged(s: SoftState): void {
    const term = (this.driver as RaftDriver | undefined)?.status().term ?? 0;
    for (const l of this.listeners) this.guarded(() => l(s.role === 'leader', term));
  }

  private guarded(listener: () => void): void {
    try {
      listener();
    } catch (e) {
      this.onListenerError?.(e as Error);
    }
  }
}
