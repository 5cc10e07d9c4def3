/**
 * Raft over the peer links: the cluster's Raft messages leave as `raft` frames (a snapshot as
 * `raft.snapshot_chunk` frames), frames that arrive go to the node's ClusterRaft, a peer whose
 * link drops is reported unreachable, and a snapshot whose chunks could not all be queued is
 * reported failed so the leader probes again at once. Raft ids and node ids are both kept by the
 * replicated state; `peers` answers for ids it has not learned yet (the bootstrap members).
 */
import type { ClusterRaft } from '../../cluster/index.js';
import type { Clock } from '../../clock/index.js';
import { SnapshotAssembly, splitSnapshot, type Message, type SnapshotChunk } from '../../raft/index.js';
import type { PeerIdentity, PeerLinks, RaftKinds } from '../../transport/index.js';

export interface RaftPeers {
  nodeOf(raftId: number): string | undefined;
  raftIdOf(nodeId: string): number | undefined;
}

export interface RaftLinksOptions {
  links: PeerLinks;
  kinds: RaftKinds;
  peers: RaftPeers;
  clock: Clock;
  /** Snapshot bytes per frame. Default 1 MiB. */
  chunkBytes?: number;
  /** A partial snapshot older than this is dropped. Default 30 s. */
  chunkMaxAgeMs?: number;
  /** A chunk that failed its checks: logged by the caller, never fatal. */
  onBadChunk?(from: string, error: Error): void;
  /** Is this certificate a current member's? Frames from any other are dropped (default: all trusted). */
  trusted?(from: PeerIdentity): boolean;
}

export class RaftLinks {
  private raft: ClusterRaft | undefined;
  private readonly assembly = new SnapshotAssembly();
  private readonly detach: (() => void)[] = [];

  constructor(private readonly opts: RaftLinksOptions) {
    const { links, kinds } = opts;
    this.detach.push(
      links.onMessage(kinds.message, (from, body) => {
        if (opts.trusted?.(from) ?? true) this.messageArrived(from.nodeId, body);
      }),
      links.onMessage(kinds.snapshotChunk, (from, chunk) => {
        if (opts.trusted?.(from) ?? true) this.chunkArrived(chunk, from.nodeId);
      }),
      links.on('peerDown', (e) => {
        const id = this.opts.peers.raftIdOf(e.nodeId);
        if (id !== undefined) this.raft?.reportUnreachable(id);
      }),
    );
  }

  /** Messages arriving before this are dropped: Raft resends what matters. */
  attach(raft: ClusterRaft): void {
    this.raft = raft;
  }

  /** ClusterRaft's `send` port. */
  readonly send = (messages: Message[]): void => {
    for (const m of messages) this.sendOne(m);
  };

  close(): void {
    for (const d of this.detach) d();
  }

  private sendOne(m: Message): void {
    const to = this.opts.peers.nodeOf(m.to);
    if (to === undefined) return;
    if (m.type !== 'snapshot') {
      if (!this.queue(() => this.opts.links.send(to, this.opts.kinds.message, m as Omit<Message, 'snapshot'> & { type: Exclude<Message['type'], 'snapshot'> }))) {
        this.raft?.reportUnreachable(m.to);
      }
      return;
    }
    const chunks = splitSnapshot(m, this.opts.chunkBytes ?? 1024 * 1024);
    const queued = chunks.every((c) => this.queue(() => this.opts.links.send(to, this.opts.kinds.snapshotChunk, c)));
    // Queued is as far as we can tell: the follower answers when it has installed the snapshot.
    this.raft?.reportSnapshot(m.to, !queued);
  }

  /** False when the frame could not be queued (back-pressure, or a peer the links do not know). */
  private queue(send: () => boolean): boolean {
    try {
      return send();
    } catch {
      return false;
    }
  }

  /** A peer speaks only for itself: a message naming another sender is dropped. */
  private messageArrived(from: string, body: Omit<Message, 'snapshot'>): void {
    if (this.opts.peers.raftIdOf(from) !== body.from) return;
    this.raft?.receive(body as Message);
  }

  private chunkArrived(chunk: SnapshotChunk, from: string): void {
    const now = this.opts.clock.now();
    this.assembly.expire(now, this.opts.chunkMaxAgeMs ?? 30_000);
    if (this.opts.peers.raftIdOf(from) !== chunk.from) {
      this.opts.onBadChunk?.(from, new Error(`snapshot chunk claims raft id ${chunk.from}, not ${from}'s`));
      return;
    }
    try {
      const whole = this.assembly.add(chunk, now);
      if (whole) this.raft?.receive(whole);
    } catch (e) {
      this.opts.onBadChunk?.(from, e as Error);
    }
  }
}
