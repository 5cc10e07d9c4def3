/**
 * One simulated server running the production RaftDriver on the virtual clock: the driver owns
 * its tick timer, persistence order and apply loop, exactly as in a real node. The simulator only
 * supplies the clock (whose timers it holds back while the process is paused), the storage, the
 * network and the faults. The driver syncs in-line, so unlike SimHost there is no fsync window
 * to crash inside: a crash keeps everything the driver wrote.
 */
import { RaftDriver, decodeConfChange } from '../index.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, RaftStatus, Role, Snapshot, SoftState } from '../types.js';
import type { SafetyChecker } from './checker.js';
import type { EventQueue } from './events.js';
import { carries, decodeDigest, encodeDigest, type HostEvents, type HostTiming } from './host.js';
import type { SimRandom } from './random.js';
import type { HostState, SimServer } from './server.js';
import { SimStorage } from './storage.js';

export class DriverHost implements SimServer {
  state: HostState = 'up';
  storage: SimStorage;
  private driver: RaftDriver | null = null;
  /** Bumped on every crash, so timers of a dead incarnation never fire into the new one. */
  private incarnation = 0;
  private heldTimers: (() => void)[] = [];
  private heldMessages: Message[] = [];
  private heldProposals: { id: string; data: Uint8Array }[] = [];
  private accepted = new Map<number, string>();
  private role: Role = 'follower';
  private term = 0;
  private leaderFirstCommit = false;
  private readonly bootConf: ConfState;

  constructor(
    readonly id: NodeId,
    storage: SimStorage,
    private readonly tickMs: number,
    private readonly timing: HostTiming,
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    private readonly checker: SafetyChecker,
    private readonly events: HostEvents,
    /** Delay before the process starts, so the nodes' tick timers run at different phases. */
    startAfter: number,
  ) {
    this.storage = storage;
    this.bootConf = storage.snapshot().meta.conf;
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

  tick(): void {
    // The driver owns its tick timer.
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

  pause(): void {
    if (this.state === 'up') this.state = 'paused';
  }

  /** The stalled process wakes: it reads what queued on its sockets, then its late timer fires. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'up';
    const driver = this.driver;
    if (driver === null) return;
    const msgs = this.heldMessages;
    const props = this.heldProposals;
    const timers = this.heldTimers;
    this.heldMessages = [];
    this.heldProposals = [];
    this.heldTimers = [];
    for (const m of msgs) driver.receive(m);
    for (const p of props) this.proposeNow(driver, p.id, p.data);
    for (const fn of timers) fn();
  }

  crash(): void {
    if (this.state === 'crashed') return;
    this.state = 'crashed';
    this.incarnation++;
    this.driver?.stop();
    this.driver = null;
    this.heldMessages = [];
    this.heldProposals = [];
    this.heldTimers = [];
    this.accepted.clear();
    this.storage.watch = {};
    this.storage = this.timing.loseDiskOnCrash ? new SimStorage(this.bootConf) : this.storage.durableImage();
    if (this.role === 'leader') this.checker.onNotLeader(this.id);
    this.role = 'follower';
  }

  restart(): void {
    if (this.state !== 'crashed') return;
    this.state = 'up';
    this.boot();
  }

  private boot(): void {
    const snap = this.storage.snapshot();
    this.checker.onRestart(this.id, snap.meta.index, decodeDigest(snap.data));
    this.role = 'follower';
    this.term = this.storage.hardState().term;
    this.storage.watch = {
      append: (entries, prevTerm) => this.checker.onPersist(this.id, entries, prevTerm),
      hardState: (hs) => this.noteHardState(hs),
    };
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
      },
      storage: this.storage,
      clock: {
        now: () => this.queue.now(),
        setTimer: (ms, fn) => {
          const ev = this.queue.schedule(ms, () => {
            if (inc !== this.incarnation) return;
            if (this.state === 'paused') this.heldTimers.push(fn);
            else fn();
          });
          return () => {
            ev.cancelled = true;
          };
        },
      },
      tickMs: this.tickMs,
      send: (msgs) => {
        for (const m of msgs) this.events.send(m);
      },
      apply: (entries) => this.apply(entries),
      // The stored snapshot at boot was reported through onRestart above.
      restore: (s) => {
        if (booting.done) this.restored(s);
      },
      onSoftState: (s) => this.softState(s),
      snapshot: this.timing.compactEvery > 0
        ? { every: this.timing.compactEvery, data: () => encodeDigest(this.checker.appliedOf(this.id).digest) }
        : undefined,
    });
    booting.done = true;
  }

  private proposeNow(driver: RaftDriver, id: string, data: Uint8Array): void {
    const before = driver.status();
    if (before.role !== 'leader') {
      this.events.trace(`n${this.id} drop ${id}`);
      return;
    }
    // The outcome reaches the client through apply(); the promise only has to be settled.
    driver.propose(data).catch(() => undefined);
    const index = before.lastIndex + 1;
    this.accepted.set(index, id);
    this.events.trace(`n${this.id} accept ${id} at ${index}`);
  }

  private noteHardState(hs: HardState): void {
    this.events.termSeen(hs.term);
    if (hs.term > this.term && hs.vote === this.id) this.events.campaigned(this.id, hs.term);
    this.term = Math.max(this.term, hs.term);
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
      this.accepted.clear();
    }
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
}
