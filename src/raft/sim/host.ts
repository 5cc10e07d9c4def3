/**
 * One simulated server: a RawNode driven by the ready/advance contract on the server's own clock.
 * For each ready batch: write snapshot, entries and hard state, wait out the fsync (virtual disk
 * latency), then send the messages, apply the committed entries and call advance(). While the
 * fsync is pending the server is blocked, as a single-threaded driver awaiting fsync would be:
 * inputs queue in its inbox. A crash in that window loses the unsynced writes and the unsent
 * messages. A paused server (a GC-like stall) neither ticks nor handles input; messages queue.
 *
 * Ticks follow the clock's elapsed time, as RaftDriver's do: a late timer, a stall, or a lease
 * question first catches up every tick that is due, so the election timeout and the lease keep
 * their length on this server's clock however late its timers fire.
 *
 * Half the seeds use this loop, half the production RaftDriver (DriverHost): the driver syncs
 * in-line, so only this loop lets the simulator choose the instant each fsync completes and
 * crash in between.
 */
import { decodeConfChange } from '../index.js';
import { ProposalDroppedError, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready, type Role } from '../types.js';
import type { SafetyChecker } from './checker.js';
import type { NodeClock } from './clock.js';
import type { CoreFactory, CoreNode } from './core.js';
import type { EventQueue, SimEvent } from './events.js';
import { ObservedStorage, checkerWatch } from './observed-storage.js';
import type { SimRandom } from './random.js';
import type { HostState, ReadDone, SimServer } from './server.js';
import { carries, decodeDigest, encodeDigest } from './state-machine.js';
import { storageFailure, type HostStorage, type NodeStore } from './store.js';

export { carries, decodeDigest, encodeDigest } from './state-machine.js';

type Input =
  | { kind: 'tick' }
  | { kind: 'msg'; msg: Message }
  | { kind: 'propose'; id: string; data: Uint8Array }
  | { kind: 'transfer'; to: NodeId }
  | { kind: 'conf'; cc: ConfChange }
  | { kind: 'read'; done: ReadDone };

export interface HostTiming {
  /** Virtual ms per core tick, on the server's own clock. */
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  /** fsync latency bounds in virtual ms; 0 makes writes durable at once. */
  minSync: number;
  maxSync: number;
  /** Compact the log once this many applied entries sit above the snapshot (0: never). */
  compactEvery: number;
  /** Entries kept below the applied index when compacting, so slow followers may still catch up by log. */
  compactKeep: number;
  /** Zero bytes added to each application snapshot (the size of a real state). */
  snapshotBytes?: number;
  /** Maps a uniform draw to the one the core sees (the paper's narrow timeout range uses this). */
  shapeRandom?: (u: number) => number;
  /**
   * A crash wipes the disk too (the node comes back empty under the same id). Raft does not
   * survive this; it exists to show the checker catching real violations.
   */
  loseDiskOnCrash?: boolean;
  /** Passed to the core (its defaults: both on). */
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Flow control, passed to the core (its defaults: 256 and 64). */
  maxInflight?: number;
  maxEntriesPerMsg?: number;
}

/** What a host tells the cluster around it. */
export interface HostEvents {
  send(msg: Message): void;
  trace(line: string): void;
  /** The node applied an entry it had itself accepted as a client proposal. */
  acked(node: NodeId, id: string, index: number): void;
  /** A proposal the node refused, or accepted and then lost track of (it stepped down or died). */
  dropped(node: NodeId, id: string): void;
  becameLeader(node: NodeId, term: number): void;
  /** A leader applied the first entry of its own term (its first commit). */
  leaderCommitted(node: NodeId, term: number, index: number): void;
  termSeen(term: number): void;
  /** The node became a candidate of `term` (voted for itself in a new term). */
  campaigned(node: NodeId, term: number): void;
  /** The node applied a membership change at `index`; `after` is the core's resulting configuration, when known. */
  confApplied(node: NodeId, index: number, cc: ConfChange, after?: ConfState): void;
  /** The node's storage failed or refused to open: it stays down. */
  failed(node: NodeId, reason: string): void;
  /** Read-index requests awaiting a RaftDriver's promise went up or down by `delta`. */
  readsPending?(delta: number): void;
}

export class SimHost implements SimServer {
  state: HostState = 'up';
  failure: string | null = null;
  storage!: HostStorage;
  private core: CoreNode | null = null;
  private busy = false;
  private inbox: Input[] = [];
  private pendingSync: SimEvent | null = null;
  /** Bumped on every crash, so timers of a dead incarnation never fire into the new one. */
  private incarnation = 0;
  private startedAt = 0;
  private ticksCounted = 0;
  /** A tick timer fired while the process was stalled: it runs when the process wakes. */
  private tickHeld = false;
  /** Proposal ids this node accepted as leader, by the log index they were given. */
  private accepted = new Map<number, string>();
  private reads = new Map<string, ReadDone>();
  private readyReads: { index: number; done: ReadDone }[] = [];
  private readSeq = 0;
  private role: Role = 'follower';
  /** The highest term this server's storage has recorded (shared with its storage watch). */
  private readonly termRecord = { value: 0 };
  private get term(): number {
    return this.termRecord.value;
  }
  private set term(t: number) {
    this.termRecord.value = t;
  }
  private leaderFirstCommit = false;
  /** Digests of the applied sequence above the last snapshot (for compaction). */
  private digestLog: number[] = [];
  /**
   * The configuration in force from each index on (oldest first, starting at the snapshot), so a
   * snapshot taken below the applied index records the configuration of its own index.
   */
  private confLog: { index: number; conf: ConfState }[] = [];

  constructor(
    readonly id: NodeId,
    private readonly store: NodeStore,
    private readonly factory: CoreFactory,
    private readonly timing: HostTiming,
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    private readonly checker: SafetyChecker,
    private readonly events: HostEvents,
    private readonly clock: NodeClock,
    /** Delay before the process starts, so the servers' ticks run at different phases. */
    startAfter: number,
  ) {
    this.open();
    const inc = this.incarnation;
    this.queue.schedule(startAfter, () => {
      if (inc === this.incarnation && this.core === null && this.state !== 'crashed') this.boot();
    });
  }

  status(): ReturnType<CoreNode['status']> | null {
    return this.core ? this.core.status() : null;
  }

  get isLeader(): boolean {
    return this.core !== null && this.state !== 'crashed' && this.role === 'leader';
  }

  receive(msg: Message): void {
    if (this.state === 'crashed') return;
    this.input({ kind: 'msg', msg });
  }

  /** A client hands this node a proposal; false when the node is down (the client sees an error). */
  propose(id: string, data: Uint8Array): boolean {
    if (this.state === 'crashed' || this.core === null) return false;
    this.input({ kind: 'propose', id, data });
    return true;
  }

  /** Ask this node, if it leads, to hand leadership to `to` (as on a graceful shutdown). */
  transfer(to: NodeId): void {
    if (this.state === 'crashed') return;
    this.input({ kind: 'transfer', to });
  }

  proposeConfChange(cc: ConfChange): void {
    if (this.state === 'crashed') return;
    this.input({ kind: 'conf', cc });
  }

  hasLease(): boolean {
    if (this.state !== 'up' || this.core === null) return false;
    this.countTicks(this.core);
    this.drive();
    if (this.core === null || !this.core.hasQuorumLease()) return false;
    // Reads answer from the applied state: everything committed must be applied first.
    const st = this.core.status();
    return st.applied >= st.commit;
  }

  readIndex(done: ReadDone): boolean {
    if (this.state === 'crashed' || this.core === null) return false;
    this.input({ kind: 'read', done });
    return true;
  }

  pause(): void {
    if (this.state === 'up') this.state = 'paused';
  }

  /** The stalled process wakes: first the ticks it owes, then what queued meanwhile. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'up';
    if (this.tickHeld) {
      this.tickHeld = false;
      this.inbox.unshift({ kind: 'tick' });
      this.scheduleTick();
    }
    this.drain();
  }

  /** Kill the process: unsynced writes, queued input and unsent messages are lost. */
  crash(): void {
    if (this.state === 'crashed') return;
    this.halt();
    if (this.timing.loseDiskOnCrash) this.store.wipe();
    else this.store.crash();
  }

  /** Start again from the durable state only (a server whose storage failed stays down). */
  restart(): void {
    if (this.state !== 'crashed' || this.failure !== null) return;
    this.state = 'up';
    if (this.open()) this.boot();
  }

  /** Open the storage; a refusal (damaged log) leaves the server down for good. */
  private open(): boolean {
    try {
      this.storage = new ObservedStorage(this.store.open(), checkerWatch(this.id, this.checker, this.events, this.termRecord));
      return true;
    } catch (e) {
      if (storageFailure(e) === null) throw e;
      this.fail(e as Error);
      return false;
    }
  }

  private boot(): void {
    const snap = this.storage.snapshot();
    const digest = decodeDigest(snap.data);
    this.checker.onRestart(this.id, snap.meta.index, digest);
    this.digestLog = [];
    this.confLog = [{ index: snap.meta.index, conf: snap.meta.conf }];
    this.role = 'follower';
    this.term = this.storage.hardState().term;
    const shape = this.timing.shapeRandom;
    const rng = this.rng;
    this.core = this.factory({
      id: this.id,
      electionTick: this.timing.electionTick,
      heartbeatTick: this.timing.heartbeatTick,
      storage: this.storage,
      random: shape ? () => shape(rng.next()) : () => rng.next(),
      applied: snap.meta.index,
      preVote: this.timing.preVote,
      checkQuorum: this.timing.checkQuorum,
      maxInflight: this.timing.maxInflight,
      maxEntriesPerMsg: this.timing.maxEntriesPerMsg,
    });
    this.startedAt = this.clock.now();
    this.ticksCounted = 0;
    this.tickHeld = false;
    this.scheduleTick();
    this.drive();
  }

  private scheduleTick(): void {
    const inc = this.incarnation;
    // The next tick boundary after now (a tick that is due but still queued behind an fsync is
    // counted when its input is handled; it must not re-arm the timer at once).
    const due = Math.floor((this.clock.now() - this.startedAt) / this.timing.tickMs);
    const next = this.startedAt + (Math.max(due, this.ticksCounted) + 1) * this.timing.tickMs;
    this.clock.setTimer(next - this.clock.now(), () => {
      if (inc !== this.incarnation || this.state === 'crashed') return;
      if (this.state === 'paused') {
        this.tickHeld = true;
        return;
      }
      this.input({ kind: 'tick' });
      this.scheduleTick();
    });
  }

  /** Give the core every tick due by the clock (at most enough to expire every timeout). */
  private countTicks(core: CoreNode): void {
    const due = Math.floor((this.clock.now() - this.startedAt) / this.timing.tickMs);
    if (due <= this.ticksCounted) return;
    const n = Math.min(due - this.ticksCounted, 2 * this.timing.electionTick + 1);
    this.ticksCounted = due;
    for (let i = 0; i < n; i++) core.tick();
  }

  private input(inp: Input): void {
    if (this.busy || this.state === 'paused') {
      this.inbox.push(inp);
      return;
    }
    this.handle(inp);
    this.drive();
  }

  private handle(inp: Input): void {
    const core = this.core;
    if (core === null) {
      if (inp.kind === 'read') inp.done(undefined);
      if (inp.kind === 'propose') this.events.dropped(this.id, inp.id);
      return;
    }
    switch (inp.kind) {
      case 'tick':
        this.countTicks(core);
        return;
      case 'msg':
        core.step(inp.msg);
        return;
      case 'propose':
        this.proposeNow(core, inp.id, inp.data);
        return;
      case 'read':
        this.readNow(core, inp.done);
        return;
      case 'conf':
        try {
          core.proposeConfChange(inp.cc);
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
          this.events.trace(`n${this.id} drop ${inp.cc.type} n${inp.cc.node}: ${err.message}`);
        }
        return;
      case 'transfer':
        if (this.role !== 'leader') return;
        this.events.trace(`n${this.id} transfers leadership to n${inp.to}`);
        core.transferLeadership(inp.to);
        return;
    }
  }

  private proposeNow(core: CoreNode, id: string, data: Uint8Array): void {
    let placed: { index: number; term: number } | void;
    try {
      placed = core.propose(data);
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        this.events.trace(`n${this.id} drop ${id}`);
        this.events.dropped(this.id, id);
        return;
      }
      throw err;
    }
    // Remember the proposal's index to ack it when applied (it is the last entry appended).
    const index = placed ? placed.index : core.status().lastIndex;
    this.accepted.set(index, id);
    this.events.trace(`n${this.id} accept ${id} at ${index}`);
  }

  private readNow(core: CoreNode, done: ReadDone): void {
    const ctx = `r${++this.readSeq}`;
    try {
      core.readIndex(ctx);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      done(undefined);
      return;
    }
    this.reads.set(ctx, done);
  }

  /** Process ready batches until the core has none or an fsync blocks us. */
  private drive(): void {
    const core = this.core;
    if (core === null || this.busy) return;
    if (!core.hasReady()) return;
    const rd = core.ready();
    let wrote: boolean;
    try {
      wrote = this.persist(rd);
      if (wrote && this.timing.maxSync <= 0) this.storage.sync();
    } catch (e) {
      this.failOn(e);
      return;
    }
    if (wrote && this.timing.maxSync > 0) {
      this.busy = true;
      const latency = this.rng.between(this.timing.minSync, this.timing.maxSync);
      const ev = this.queue.schedule(latency, () => {
        if (this.pendingSync !== ev) return;
        this.pendingSync = null;
        try {
          this.storage.sync();
        } catch (e) {
          this.failOn(e);
          return;
        }
        this.busy = false;
        this.finish(rd);
      });
      this.pendingSync = ev;
      return;
    }
    this.finish(rd);
  }

  /** Write the batch's durable parts (not yet synced). */
  private persist(rd: Ready): boolean {
    let wrote = false;
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      wrote = true;
    }
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries);
      wrote = true;
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      wrote = true;
    }
    return wrote;
  }

  /** After the fsync: note role changes, send, apply, advance, then take queued input. */
  private finish(rd: Ready): void {
    const core = this.core;
    if (core === null) return;
    if (rd.softState) this.noteRole(rd.softState.role, core);
    for (const m of rd.messages) this.events.send(m);
    if (rd.snapshot) this.restoreFromSnapshot(rd.snapshot.meta.index, rd.snapshot.data, rd.snapshot.meta.conf);
    for (const e of rd.committedEntries) this.apply(e, core);
    for (const r of rd.readStates) {
      const done = this.reads.get(r.context);
      if (done === undefined) continue;
      this.reads.delete(r.context);
      this.readyReads.push({ index: r.index, done });
    }
    this.releaseReads();
    core.advance();
    this.maybeCompact();
    this.drive();
    this.drain();
  }

  /** Reads whose index this node has applied are answered. */
  private releaseReads(): void {
    if (this.readyReads.length === 0) return;
    const applied = this.checker.appliedOf(this.id).index;
    const still: typeof this.readyReads = [];
    for (const r of this.readyReads) {
      if (r.index <= applied) r.done(r.index);
      else still.push(r);
    }
    this.readyReads = still;
  }

  private noteRole(role: Role, core: CoreNode): void {
    const was = this.role;
    this.role = role;
    if (role === 'leader' && was !== 'leader') {
      const term = core.status().term;
      this.term = term;
      this.leaderFirstCommit = false;
      this.events.trace(`n${this.id} leader term ${term}`);
      this.checker.onLeader(this.id, term, this.storage);
      this.events.becameLeader(this.id, term);
    } else if (was === 'leader' && role !== 'leader') {
      this.events.trace(`n${this.id} steps down (${role})`);
      this.checker.onNotLeader(this.id);
      this.forgetClients();
    }
  }

  /** Proposals and reads in flight can no longer be answered: the clients see them fail. */
  private forgetClients(): void {
    for (const id of this.accepted.values()) this.events.dropped(this.id, id);
    this.accepted.clear();
    const reads = [...this.reads.values(), ...this.readyReads.map((r) => r.done)];
    this.reads.clear();
    this.readyReads = [];
    for (const done of reads) done(undefined);
  }

  private apply(e: Entry, core: CoreNode): void {
    this.checker.onApply(this.id, e, this.term);
    if (e.type === 'conf_change') {
      const cc = decodeConfChange(e.data);
      const after = core.applyConfChange(cc);
      this.confLog.push({ index: e.index, conf: after });
      this.events.confApplied(this.id, e.index, cc, after);
    }
    this.digestLog.push(this.checker.appliedOf(this.id).digest);
    const id = this.accepted.get(e.index);
    if (id !== undefined) {
      this.accepted.delete(e.index);
      if (carries(e, id)) this.events.acked(this.id, id, e.index);
      else this.events.dropped(this.id, id);
    }
    if (this.role === 'leader' && !this.leaderFirstCommit && e.term === this.term) {
      this.leaderFirstCommit = true;
      this.events.leaderCommitted(this.id, this.term, e.index);
    }
  }

  private restoreFromSnapshot(index: number, data: Uint8Array, conf: ConfState): void {
    this.confLog = [{ index, conf }];
    this.checker.onSnapshotApplied(this.id, index, decodeDigest(data));
    this.digestLog = [];
    this.events.trace(`n${this.id} restored snapshot at ${index}`);
  }

  private maybeCompact(): void {
    const every = this.timing.compactEvery;
    if (every <= 0 || this.digestLog.length < every + this.timing.compactKeep) return;
    const applied = this.checker.appliedOf(this.id).index;
    const at = applied - this.timing.compactKeep;
    const base = applied - this.digestLog.length;
    if (at <= this.storage.firstIndex() - 1 || at > this.storage.lastIndex()) return;
    const digest = this.digestLog[at - base - 1];
    // The configuration in force at `at`: the last change at or below it.
    let k = 0;
    while (k + 1 < this.confLog.length && this.confLog[k + 1].index <= at) k++;
    this.confLog = this.confLog.slice(k);
    try {
      this.storage.compact(at, encodeDigest(digest, this.timing.snapshotBytes), this.confLog[0].conf);
    } catch (e) {
      this.failOn(e);
      return;
    }
    this.digestLog = this.digestLog.slice(at - base);
    this.events.trace(`n${this.id} compact at ${at}`);
  }

  private drain(): void {
    while (!this.busy && this.state === 'up' && this.inbox.length > 0) {
      const next = this.inbox.shift() as Input;
      this.handle(next);
      this.drive();
    }
  }

  /** A storage error stops the process for good; anything else is a bug and propagates. */
  private failOn(e: unknown): void {
    if (storageFailure(e) === null) throw e;
    this.fail(e as Error);
  }

  private fail(e: Error): void {
    this.failure = storageFailure(e) ?? e.message;
    this.events.trace(`n${this.id} storage failed, stays down: ${this.failure}`);
    this.halt();
    this.events.failed(this.id, this.failure);
  }

  /** The process is gone: nothing it held in memory survives. */
  private halt(): void {
    this.state = 'crashed';
    this.incarnation++;
    if (this.pendingSync) this.pendingSync.cancelled = true;
    this.pendingSync = null;
    this.busy = false;
    this.inbox = [];
    this.tickHeld = false;
    this.forgetClients();
    this.core = null;
    if (this.role === 'leader') this.checker.onNotLeader(this.id);
    this.role = 'follower';
  }
}
