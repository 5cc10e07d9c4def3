/**
 * One simulated server running the production RaftDriver on the server's own clock (NodeClock:
 * its own rate, late timers): the driver owns its tick timer, persistence order and apply loop,
 * exactly as in a real node. The simulator only supplies the clock (whose timers it holds back
 * while the process is paused), the storage, the network and the faults. The driver syncs
 * in-line, so unlike SimHost there is no fsync window to crash inside: a crash keeps everything
 * the driver wrote. A storage failure reaches the driver's onFatal; the server then stays down.
 */
import { RaftDriver, decodeConfChange } from '../index.js';
import type { ConfChange, Entry, Message, NodeId, RaftStatus, Role, Snapshot, SoftState } from '../types.js';
import type { SafetyChecker } from './checker.js';
import type { NodeClock } from './clock.js';
import type { EventQueue } from './events.js';
import type { HostEvents, HostTiming } from './host.js';
import { ObservedStorage, checkerWatch } from './observed-storage.js';
import type { SimRandom } from './random.js';
import type { HostState, ReadDone, SimServer } from './server.js';
import { carries, decodeDigest, encodeDigest } from './state-machine.js';
import { storageFailure, type HostStorage, type NodeStore } from './store.js';

export class DriverHost implements SimServer {
  state: HostState = 'up';
  failure: string | null = null;
  storage!: HostStorage;
  private driver: RaftDriver | null = null;
  /** Bumped on every crash, so timers of a dead incarnation never fire into the new one. */
  private incarnation = 0;
  private heldTimers: (() => void)[] = [];
  private heldMessages: Message[] = [];
  private heldProposals: { id: string; data: Uint8Array }[] = [];
  private heldReads: ReadDone[] = [];
  private accepted = new Map<number, string>();
  /** Reads handed to the driver and not yet answered (answered as the process dies otherwise). */
  private readonly pendingReads = new Set<ReadDone>();
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

  constructor(
    readonly id: NodeId,
    private readonly store: NodeStore,
    private readonly timing: HostTiming,
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    private readonly checker: SafetyChecker,
    private readonly events: HostEvents,
    private readonly clock: NodeClock,
    /** Delay before the process starts, so the nodes' tick timers run at different phases. */
    startAfter: number,
  ) {
    this.open();
    const inc = this.incarnation;
    this.queue.schedule(startAfter, () => {
      if (inc === this.incarnation && this.driver === null && this.state !== 'crashed') this.boot();
    });
  }

  get isLeader(): boolean {
    return this.driver !== null && this.state !== 'crashed' && this.role === 'leader';
  }

  status(): RaftStatus | null {
    return this.driver ? this.driver.status() : null;
  }

  receive(msg: Message): void {
    if (this.driver === null || this.state === 'crashed') return;
    if (this.state === 'paused') this.heldMessages.push(msg);
    else this.driver.receive(msg);
  }

  propose(id: string, data: Uint8Array): boolean {
    if (this.driver === null || this.state === 'crashed') return false;
    if (this.state === 'paused') this.heldProposals.push({ id, data });
    else this.proposeNow(this.driver, id, data);
    return true;
  }

  transfer(to: NodeId): void {
    if (this.driver === null || this.state !== 'up' || this.role !== 'leader') return;
    this.events.trace(`n${this.id} transfers leadership to n${to}`);
    this.driver.transferLeadership(to);
  }

  proposeConfChange(cc: ConfChange): void {
    if (this.driver === null || this.state !== 'up' || this.role !== 'leader') return;
    this.driver.proposeConfChange(cc).catch(() => undefined);
  }

  hasLease(): boolean {
    return this.driver !== null && this.state === 'up' && this.driver.leaseValid();
  }

  /**
   * The driver answers through a promise, so `done` runs in a microtask after the event that
   * settled it (run.ts lets microtasks run between events while reads are outstanding).
   */
  readIndex(done: ReadDone): boolean {
    if (this.driver === null || this.state === 'crashed') return false;
    if (this.state === 'paused') this.heldReads.push(done);
    else this.readNow(this.driver, done);
    return true;
  }

  pause(): void {
    if (this.state === 'up') this.state = 'paused';
  }

  /** The stalled process wakes: it reads what queued on its sockets, then its late timer fires. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'up';
    const msgs = this.heldMessages;
    const props = this.heldProposals;
    const reads = this.heldReads;
    const timers = this.heldTimers;
    this.heldMessages = [];
    this.heldProposals = [];
    this.heldReads = [];
    this.heldTimers = [];
    for (const m of msgs) this.driver?.receive(m);
    for (const p of props) {
      if (this.driver) this.proposeNow(this.driver, p.id, p.data);
      else this.events.dropped(this.id, p.id);
    }
    for (const done of reads) {
      if (this.driver) this.readNow(this.driver, done);
      else done(undefined);
    }
    for (const fn of timers) fn();
  }

  crash(): void {
    if (this.state === 'crashed') return;
    this.halt();
    if (this.timing.loseDiskOnCrash) this.store.wipe();
    else this.store.crash();
  }

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
      const why = storageFailure(e);
      if (why === null) throw e;
      this.fail(why);
      return false;
    }
  }

  private boot(): void {
    const snap = this.storage.snapshot();
    this.checker.onRestart(this.id, snap.meta.index, decodeDigest(snap.data));
    this.role = 'follower';
    this.term = this.storage.hardState().term;
    const inc = this.incarnation;
    const rng = this.rng;
    const shape = this.timing.shapeRandom;
    const booting = { done: false };
    this.driver = new RaftDriver({
      node: {
        id: this.id,
        electionTick: this.timing.electionTick,
        heartbeatTick: this.timing.heartbeatTick,
        random: shape ? () => shape(rng.next()) : () => rng.next(),
        applied: snap.meta.index,
        preVote: this.timing.preVote,
        checkQuorum: this.timing.checkQuorum,
        maxInflight: this.timing.maxInflight,
        maxEntriesPerMsg: this.timing.maxEntriesPerMsg,
      },
      storage: this.storage,
      clock: {
        now: () => this.clock.now(),
        setTimer: (ms, fn) =>
          this.clock.setTimer(ms, () => {
            if (inc !== this.incarnation) return;
            if (this.state === 'paused') this.heldTimers.push(fn);
            else fn();
          }),
      },
      tickMs: this.timing.tickMs,
      send: (msgs) => {
        for (const m of msgs) this.events.send(m);
      },
      apply: (entries) => this.apply(entries),
      // The stored snapshot at boot was reported through onRestart above.
      restore: (s) => {
        if (booting.done) this.restored(s);
      },
      onSoftState: (s) => this.softState(s),
      onFatal: (e) => {
        // The driver has stopped itself; the process is done. (Called inside the driver's loop.)
        if (inc !== this.incarnation) return;
        this.fail(storageFailure(e) ?? `${e.name}: ${e.message}`);
      },
      snapshot: this.timing.compactEvery > 0
        ? { every: this.timing.compactEvery, data: () => encodeDigest(this.checker.appliedOf(this.id).digest, this.timing.snapshotBytes) }
        : undefined,
    });
    booting.done = true;
  }

  private proposeNow(driver: RaftDriver, id: string, data: Uint8Array): void {
    const before = driver.status();
    if (before.role !== 'leader') {
      this.events.trace(`n${this.id} drop ${id}`);
      this.events.dropped(this.id, id);
      return;
    }
    // The outcome reaches the client through apply(); the promise only has to be settled.
    driver.propose(data).catch(() => undefined);
    const index = before.lastIndex + 1;
    this.accepted.set(index, id);
    this.events.trace(`n${this.id} accept ${id} at ${index}`);
  }

  private readNow(driver: RaftDriver, done: ReadDone): void {
    this.pendingReads.add(done);
    this.events.readsPending?.(1);
    const settle = (index: number | undefined): void => {
      if (!this.pendingReads.delete(done)) return;
      this.events.readsPending?.(-1);
      done(index);
    };
    driver.readIndex().then(settle, () => settle(undefined));
  }

  private softState(s: SoftState): void {
    const was = this.role;
    this.role = s.role;
    if (s.role === 'leader' && was !== 'leader') {
      const term = this.driver?.status().term ?? this.term;
      this.term = term;
      this.leaderFirstCommit = false;
      this.events.trace(`n${this.id} leader term ${term}`);
      this.checker.onLeader(this.id, term, this.storage);
      this.events.becameLeader(this.id, term);
    } else if (was === 'leader' && s.role !== 'leader') {
      this.events.trace(`n${this.id} steps down (${s.role})`);
      this.checker.onNotLeader(this.id);
      this.dropAccepted();
    }
  }

  private dropAccepted(): void {
    for (const id of this.accepted.values()) this.events.dropped(this.id, id);
    this.accepted.clear();
  }

  private apply(entries: Entry[]): void {
    for (const e of entries) {
      this.checker.onApply(this.id, e, this.term);
      // The driver applies the change to the core itself, right after this callback.
      if (e.type === 'conf_change') this.events.confApplied(this.id, e.index, decodeConfChange(e.data));
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
  }

  private restored(s: Snapshot): void {
    this.checker.onSnapshotApplied(this.id, s.meta.index, decodeDigest(s.data));
    this.events.trace(`n${this.id} restored snapshot at ${s.meta.index}`);
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.events.trace(`n${this.id} storage failed, stays down: ${reason}`);
    this.halt();
    this.events.failed(this.id, reason);
  }

  /** The process is gone: nothing it held in memory survives. */
  private halt(): void {
    this.state = 'crashed';
    this.incarnation++;
    this.driver?.stop();
    this.driver = null;
    this.heldMessages = [];
    for (const p of this.heldProposals) this.events.dropped(this.id, p.id);
    this.heldProposals = [];
    const reads = [...this.heldReads, ...this.pendingReads];
    this.heldReads = [];
    if (this.pendingReads.size > 0) this.events.readsPending?.(-this.pendingReads.size);
    this.pendingReads.clear();
    for (const done of reads) done(undefined);
    this.heldTimers = [];
    this.dropAccepted();
    if (this.role === 'leader') this.checker.onNotLeader(this.id);
    this.role = 'follower';
  }
}
