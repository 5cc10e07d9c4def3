/**
 * RaftDriver: owns time and I/O for one node, in production and in the simulator alike. It ticks
 * the core on an injected clock, and drains every Ready in the order safety needs: persist
 * (snapshot, entries, hard state), fsync, and only then send, apply, advance.
 */
import { RawNode } from './raw-node.js';
import { decodeConfChange } from './membership.js';
import { MAX_ENTRY_DATA_BYTES } from './record.js';
import {
  ProposalDroppedError,
  type ConfChange,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftStatus,
  type Ready,
  type Snapshot,
  type SoftState,
  type WritableLogStorage,
} from './types.js';

/** The slice of a clock the driver needs; structurally compatible with src/clock's Clock. */
export interface DriverClock {
  now(): number;
  setTimer(ms: number, fn: () => void): () => void;
}

export interface RaftDriverOptions {
  /** The core's configuration; `storage` below is handed to it. */
  node: Omit<RaftConfig, 'storage'>;
  storage: WritableLogStorage;
  clock: DriverClock;
  /** Milliseconds per logical tick (e.g. 50 with heartbeatTick 1 and electionTick 10). */
  tickMs: number;
  send(messages: Message[]): void;
  /** Committed entries in log order, conf changes and the leaders' empty entries included. */
  apply(entries: Entry[]): void;
  /**
   * Replace the application state by a snapshot's: one received from the leader, or the stored
   * one when the driver is constructed. Like `apply` (for entries already committed on disk), it
   * may run before the constructor returns.
   */
  restore?(snapshot: Snapshot): void;
  onSoftState?(s: SoftState): void;
  /** Compact the log with a snapshot of the application state every `every` applied entries. */
  snapshot?: { every: number; data(): Uint8Array };
  /**
   * The node had to stop: its storage failed (a failed fsync, a full disk it could not undo) or
   * applying an entry threw. Nothing it acknowledged can be trusted to continue from here, so it
   * stops for good; without this callback the error is thrown to whoever drove the driver.
   */
  onFatal?(error: Error): void;
  /** Largest proposal accepted, in bytes (default 1 MiB): Raft carries metadata, not payloads. */
  maxProposalBytes?: number;
}

/** A proposal over RaftDriverOptions.maxProposalBytes. */
export class ProposalTooLargeError extends Error {
  constructor(bytes: number, max: number) {
    super(`proposal of ${bytes} bytes is over the limit of ${max} bytes`);
    this.name = 'ProposalTooLargeError';
  }
}

export interface Committed {
  index: number;
  term: number;
}

const DEFAULT_MAX_PROPOSAL_BYTES = 1024 * 1024;

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

export class RaftDriver {
  private readonly node: RawNode;
  private readonly opts: RaftDriverOptions;
  private cancelTick: (() => void) | undefined;
  private stopped = false;
  private busy = false;
  private inbox: Message[] = [];
  /** Ticks due but not yet given to the core: the core only moves between batches. */
  private pendingTicks = 0;
  /** Time is counted from here: tick n is due at start + n * tickMs on our clock. */
  private readonly startedAt: number;
  private ticksCounted = 0;
  /** More ticks than this at once change nothing more (every timeout has expired). */
  private readonly maxCatchUp: number;
  private fatal: Error | undefined;
  private soft: SoftState = { leader: 0, role: 'follower' };
  private applied: number;
  private lastSnapshotIndex: number;
  private readonly proposals = new Map<number, Waiter<Committed> & { term: number }>();
  private readonly reads = new Map<string, Waiter<number>>();
  /** Read points known, waiting for the application to catch up to their index. */
  private readyReads: { index: number; waiter: Waiter<number> }[] = [];
  private readSeq = 0;

  constructor(opts: RaftDriverOptions) {
    this.opts = opts;
    this.startedAt = opts.clock.now();
    this.maxCatchUp = 2 * opts.node.electionTick + 1;
    this.node = new RawNode({ ...opts.node, storage: opts.storage });
    const snap = opts.storage.snapshot();
    this.lastSnapshotIndex = snap.meta.index;
    this.applied = this.node.status().applied;
    if (snap.meta.index > 0) opts.restore?.(snap);
    this.scheduleTick();
    // What the log already holds as committed is applied now, so the application starts current.
    this.drain();
  }

  /**
   * Ticks follow the clock's elapsed time, not the number of timer callbacks: a timer that fires
   * late (a busy or paused event loop) is made up for at once, so the election timeout and the
   * lease keep their real length.
   */
  private scheduleTick(): void {
    const next = this.startedAt + (this.ticksCounted + 1) * this.opts.tickMs;
    const wait = Math.max(0, next - this.opts.clock.now());
    this.cancelTick = this.opts.clock.setTimer(wait, () => {
      if (this.stopped) return;
      this.countElapsedTicks();
      this.scheduleTick();
      this.drain();
    });
  }

  private countElapsedTicks(): void {
    const due = Math.floor((this.opts.clock.now() - this.startedAt) / this.opts.tickMs);
    if (due <= this.ticksCounted) return;
    this.pendingTicks = Math.min(this.pendingTicks + due - this.ticksCounted, this.maxCatchUp);
    this.ticksCounted = due;
  }

  /** A message from a peer. */
  receive(m: Message): void {
    if (this.stopped) return;
    // Messages arriving while we handle a Ready (e.g. a synchronous transport) wait for advance().
    this.inbox.push(m);
    this.drain();
  }

  /** Resolves once the entry is committed and applied here; rejects if that becomes unknowable. */
  propose(data: Uint8Array): Promise<Committed> {
    // Never more than the log's reader accepts, whatever was configured.
    const max = Math.min(this.opts.maxProposalBytes ?? DEFAULT_MAX_PROPOSAL_BYTES, MAX_ENTRY_DATA_BYTES);
    if (data.length > max) return Promise.reject(new ProposalTooLargeError(data.length, max));
    return this.track(() => this.node.propose(data));
  }

  proposeConfChange(cc: ConfChange): Promise<Committed> {
    return this.track(() => this.node.proposeConfChange(cc));
  }

  private track(start: () => Committed): Promise<Committed> {
    if (this.stopped) return Promise.reject(new ProposalDroppedError('driver stopped'));
    let at: Committed;
    try {
      at = start();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const p = new Promise<Committed>((resolve, reject) => {
      this.proposals.set(at.index, { term: at.term, resolve, reject });
    });
    this.drain();
    return p;
  }

  /** A linearizable read point: resolves with an index once it is confirmed and applied here. */
  readIndex(): Promise<number> {
    if (this.stopped) return Promise.reject(new ProposalDroppedError('driver stopped'));
    const ctx = `r${++this.readSeq}`;
    try {
      this.node.readIndex(ctx);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const p = new Promise<number>((resolve, reject) => this.reads.set(ctx, { resolve, reject }));
    this.drain();
    return p;
  }

  /** The transport could not reach `id`. */
  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
    this.drain();
  }

  /** The transport finished sending a snapshot to `id`, or gave up (`failed`). */
  reportSnapshot(id: NodeId, failed: boolean): void {
    if (this.stopped) return;
    this.node.reportSnapshot(id, failed);
    this.drain();
  }

  transferLeadership(to: NodeId): void {
    this.node.transferLeadership(to);
    this.drain();
  }

  campaign(): void {
    this.node.campaign();
    this.drain();
  }

  isLeader(): boolean {
    return this.soft.role === 'leader';
  }

  leader(): NodeId {
    return this.soft.leader;
  }

  /**
   * True while this node leads and a quorum has promised, recently enough, to elect nobody else.
   * Time that passed since the last tick is counted first (a paused process must not wake up
   * believing a lease that ran out while it slept).
   */
  leaseValid(): boolean {
    if (this.stopped) return false;
    this.countElapsedTicks();
    this.drain();
    // Asked from inside a batch (an apply callback), the due ticks are still pending: count them.
    // A lease read answers from the applied state, so everything committed must be applied.
    return !this.stopped && this.node.hasQuorumLease(this.pendingTicks) && this.applied >= this.node.committed();
  }

  /** Why the driver stopped on its own (storage failed, apply threw), if it did. */
  failure(): Error | undefined {
    return this.fatal;
  }

  status(): RaftStatus {
    return this.node.status();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTick?.();
    this.failAll('driver stopped');
  }

  private drain(): void {
    if (this.busy || this.stopped) return;
    // Whatever woke us (a message, a proposal), the core first learns how much time has passed.
    this.countElapsedTicks();
    this.busy = true;
    try {
      for (;;) {
        for (; this.pendingTicks > 0; this.pendingTicks--) this.node.tick();
        if (this.inbox.length > 0) {
          const batch = this.inbox;
          this.inbox = [];
          for (const m of batch) this.node.step(m);
        }
        if (!this.node.hasReady()) break;
        const rd = this.node.ready();
        try {
          this.handle(rd);
        } catch (e) {
          this.halt(e as Error);
          break;
        }
        this.node.advance();
        if (this.stopped) break;
      }
    } finally {
      this.busy = false;
    }
    if (this.fatal && !this.opts.onFatal) throw this.fatal;
  }

  /** Stop for good: a half-persisted Ready must never be followed by another. */
  private halt(e: Error): void {
    this.fatal = e;
    this.stop();
    this.opts.onFatal?.(e);
  }

  private handle(rd: Ready): void {
    this.persist(rd);
    if (rd.messages.length > 0) this.sendAll(rd.messages);
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    for (const r of rd.readStates) this.readConfirmed(r.context, r.index);
    if (rd.softState) this.softChanged(rd.softState);
    this.releaseReads();
  }

  /** Raft tolerates lost messages; a failing transport must not leave a Ready half handled. */
  private sendAll(messages: Message[]): void {
    try {
      this.opts.send(messages);
    } catch {
      /* dropped: peers will be retried by heartbeats and probes */
    }
  }

  private persist(rd: Ready): void {
    const s = this.opts.storage;
    let wrote = false;
    if (rd.snapshot) {
      s.applySnapshot(rd.snapshot);
      wrote = true;
    }
    if (rd.entries.length > 0) {
      s.append(rd.entries);
      wrote = true;
    }
    if (rd.hardState) {
      s.setHardState(rd.hardState);
      wrote = true;
    }
    // The barrier: nothing of this batch leaves the node before it is durable.
    if (wrote) s.sync();
  }

  private installSnapshot(snap: Snapshot): void {
    this.opts.restore?.(snap);
    this.applied = Math.max(this.applied, snap.meta.index);
    this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, snap.meta.index);
    // Proposals folded into the snapshot: we cannot tell whether ours made it.
    for (const [index, w] of this.proposals) {
      if (index > snap.meta.index) continue;
      this.proposals.delete(index);
      w.reject(new ProposalDroppedError('replaced by a snapshot; outcome unknown'));
    }
  }

  private applyEntries(entries: Entry[]): void {
    this.opts.apply(entries);
    for (const e of entries) {
      if (e.type === 'conf_change') this.node.applyConfChange(decodeConfChange(e.data));
      this.settle(e);
    }
    this.applied = entries[entries.length - 1].index;
    this.maybeCompact();
  }

  private settle(e: Entry): void {
    const w = this.proposals.get(e.index);
    if (!w) return;
    this.proposals.delete(e.index);
    if (w.term === e.term) w.resolve({ index: e.index, term: e.term });
    else w.reject(new ProposalDroppedError('overwritten by another leader'));
  }

  private maybeCompact(): void {
    const snap = this.opts.snapshot;
    if (!snap || this.applied - this.lastSnapshotIndex < snap.every) return;
    this.opts.storage.compact(this.applied, snap.data(), this.node.status().conf);
    this.lastSnapshotIndex = this.applied;
  }

  private softChanged(s: SoftState): void {
    const wasLeader = this.soft.role === 'leader';
    this.soft = s;
    this.opts.onSoftState?.(s);
    if (wasLeader && s.role !== 'leader') this.failAll('leadership lost; outcome unknown');
  }

  private readConfirmed(ctx: string, index: number): void {
    const w = this.reads.get(ctx);
    if (!w) return;
    this.reads.delete(ctx);
    this.readyReads.push({ index, waiter: w });
  }

  private releaseReads(): void {
    if (this.readyReads.length === 0) return;
    const still: typeof this.readyReads = [];
    for (const r of this.readyReads) {
      if (r.index <= this.applied) r.waiter.resolve(r.index);
      else still.push(r);
    }
    this.readyReads = still;
  }

  private failAll(reason: string): void {
    for (const w of this.proposals.values()) w.reject(new ProposalDroppedError(reason));
    this.proposals.clear();
    for (const w of this.reads.values()) w.reject(new ProposalDroppedError(reason));
    this.reads.clear();
    for (const r of this.readyReads) r.waiter.reject(new ProposalDroppedError(reason));
    this.readyReads = [];
  }
}
