/**
 * One simulated server: a RawNode driven by the ready/advance contract on the virtual clock.
 * For each ready batch: write snapshot, entries and hard state, wait out the fsync (virtual disk
 * latency), then send the messages, apply the committed entries and call advance(). While the
 * fsync is pending the server is blocked, as a single-threaded driver awaiting fsync would be:
 * inputs queue in its inbox. A crash in that window loses the unsynced writes and the unsent
 * messages. A paused server (a GC-like stall) neither ticks nor handles input; messages queue.
 *
 * Half the seeds use this loop, half the production RaftDriver (DriverHost): the driver syncs
 * in-line, so only this loop lets the simulator choose the instant each fsync completes and
 * crash in between.
 */
import { decodeConfChange } from '../index.js';
import { ProposalDroppedError, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready, type Role } from '../types.js';
import type { SafetyChecker } from './checker.js';
import type { CoreFactory, CoreNode } from './core.js';
import type { EventQueue, SimEvent } from './events.js';
import type { SimRandom } from './random.js';
import type { HostState, SimServer } from './server.js';
import { SimStorage } from './storage.js';

type Input =
  | { kind: 'tick' }
  | { kind: 'msg'; msg: Message }
  | { kind: 'propose'; id: string; data: Uint8Array }
  | { kind: 'transfer'; to: NodeId }
  | { kind: 'conf'; cc: ConfChange };

export interface HostTiming {
  electionTick: number;
  heartbeatTick: number;
  /** fsync latency bounds in virtual ms; 0 makes writes durable at once. */
  minSync: number;
  maxSync: number;
  /** Compact the log once this many applied entries sit above the snapshot (0: never). */
  compactEvery: number;
  /** Entries kept below the applied index when compacting, so slow followers may still catch up by log. */
  compactKeep: number;
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
}

/** What a host tells the cluster around it. */
export interface HostEvents {
  send(msg: Message): void;
  trace(line: string): void;
  /** The node applied an entry it had itself accepted as a client proposal. */
  acked(node: NodeId, id: string, index: number): void;
  becameLeader(node: NodeId, term: number): void;
  /** A leader applied the first entry of its own term (its first commit). */
  leaderCommitted(node: NodeId, term: number, index: number): void;
  termSeen(term: number): void;
  /** The node became a candidate of `term` (voted for itself in a new term). */
  campaigned(node: NodeId, term: number): void;
  /** The node applied a membership change at `index`; `after` is the core's resulting configuration, when known. */
  confApplied(node: NodeId, index: number, cc: ConfChange, after?: ConfState): void;
}

export class SimHost implements SimServer {
  state: HostState = 'up';
  storage: SimStorage;
  private core: CoreNode | null = null;
  private busy = false;
  private inbox: Input[] = [];
  private pendingSync: SimEvent | null = null;
  /** Proposal ids this node accepted as leader, by the log index they were given. */
  private accepted = new Map<number, string>();
  private role: Role = 'follower';
  private term = 0;
  private leaderFirstCommit = false;
  /** Digests of the applied sequence above the last snapshot (for compaction). */
  private digestLog: number[] = [];
  /**
   * The configuration in force from each index on (oldest first, starting at the snapshot), so a
   * snapshot taken below the applied index records the configuration of its own index.
   */
  private confLog: { index: number; conf: ConfState }[] = [];
  private readonly bootConf: ConfState;

  constructor(
    readonly id: NodeId,
    storage: SimStorage,
    private readonly factory: CoreFactory,
    private readonly timing: HostTiming,
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    private readonly checker: SafetyChecker,
    private readonly events: HostEvents,
  ) {
    this.storage = storage;
    this.bootConf = storage.snapshot().meta.conf;
    this.boot();
  }

  status(): ReturnType<CoreNode['status']> | null {
    return this.core ? this.core.status() : null;
  }

  get isLeader(): boolean {
    return this.state !== 'crashed' && this.role === 'leader';
  }

  tick(): void {
    if (this.state !== 'up') return; // a stalled or dead process misses its ticks
    this.input({ kind: 'tick' });
  }

  receive(msg: Message): void {
    if (this.state === 'crashed') return;
    this.input({ kind: 'msg', msg });
  }

  /** A client hands this node a proposal; false when the node is down (the client sees an error). */
  propose(id: string, data: Uint8Array): boolean {
    if (this.state === 'crashed') return false;
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

  /** Does this node, running and leading, hold a quorum lease right now? */
  hasLease(): boolean {
    return this.core !== null && this.state === 'up' && this.core.hasQuorumLease();
  }

  pause(): void {
    if (this.state === 'up') this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'up';
    this.drain();
  }

  /** Kill the process: unsynced writes, queued input and unsent messages are lost. */
  crash(): void {
    if (this.state === 'crashed') return;
    this.state = 'crashed';
    if (this.pendingSync) this.pendingSync.cancelled = true;
    this.pendingSync = null;
    this.busy = false;
    this.inbox = [];
    this.accepted.clear();
    this.core = null;
    this.storage = this.timing.loseDiskOnCrash ? new SimStorage(this.bootConf) : this.storage.durableImage();
    if (this.role === 'leader') this.checker.onNotLeader(this.id);
    this.role = 'follower';
  }

  /** Start again from the durable state only. */
  restart(): void {
    if (this.state !== 'crashed') return;
    this.state = 'up';
    this.boot();
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
    });
    this.drive();
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
    if (core === null) return;
    switch (inp.kind) {
      case 'tick':
        core.tick();
        return;
      case 'msg':
        core.step(inp.msg);
        return;
      case 'propose':
        this.proposeNow(core, inp.id, inp.data);
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
        return;
      }
      throw err;
    }
    // Remember the proposal's index to ack it when applied (it is the last entry appended).
    const index = placed ? placed.index : core.status().lastIndex;
    this.accepted.set(index, id);
    this.events.trace(`n${this.id} accept ${id} at ${index}`);
  }

  /** Process ready batches until the core has none or an fsync blocks us. */
  private drive(): void {
    const core = this.core;
    if (core === null || this.busy) return;
    if (!core.hasReady()) return;
    const rd = core.ready();
    const wrote = this.persist(rd);
    if (wrote && this.timing.maxSync > 0) {
      this.busy = true;
      const latency = this.rng.between(this.timing.minSync, this.timing.maxSync);
      const ev = this.queue.schedule(latency, () => {
        if (this.pendingSync !== ev) return;
        this.pendingSync = null;
        this.storage.sync();
        this.busy = false;
        this.finish(rd);
      });
      this.pendingSync = ev;
      return;
    }
    if (wrote) this.storage.sync();
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
      const first = rd.entries[0].index;
      let prevTerm = -1;
      if (first - 1 >= this.storage.firstIndex() - 1 && first - 1 <= this.storage.lastIndex()) {
        prevTerm = this.storage.term(first - 1);
      }
      this.checker.onPersist(this.id, rd.entries, prevTerm);
      this.storage.append(rd.entries);
      wrote = true;
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.events.termSeen(rd.hardState.term);
      if (rd.hardState.term > this.term && rd.hardState.vote === this.id) this.events.campaigned(this.id, rd.hardState.term);
      this.term = rd.hardState.term;
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
    core.advance();
    this.maybeCompact(core);
    this.drive();
    this.drain();
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
      this.accepted.clear();
    }
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

  private maybeCompact(core: CoreNode): void {
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
    this.storage.compact(at, encodeDigest(digest), this.confLog[0].conf);
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
}

/** The simulated state machine's snapshot is the digest of its applied sequence. */
export function encodeDigest(d: number): Uint8Array {
  return new Uint8Array([(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255]);
}

export function decodeDigest(data: Uint8Array): number {
  if (data.length < 4) return 0;
  return ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0;
}

/** Does the entry carry the client proposal `id`? (Another leader may have filled the index.) */
export function carries(e: Entry, id: string): boolean {
  if (e.type !== 'normal' || e.data.length !== id.length) return false;
  for (let i = 0; i < id.length; i++) if (e.data[i] !== id.charCodeAt(i)) return false;
  return true;
}
