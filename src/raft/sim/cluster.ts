/**
 * A simulated cluster: N hosts, one network, one checker and one event queue. It offers the
 * fault primitives (cut, pause, crash, restart, disk faults), a client that proposes and reads
 * through whichever node claims to lead, and an optional trace of everything that happens, for
 * byte-identical replays. Each server has its own clock (rate, timer lag) and its own stable
 * store (SimStorage, or FileStorage on a simulated disk).
 */
import { type ConfChange, type ConfState, type Message, type NodeId } from '../types.js';
import { SafetyChecker } from './checker.js';
import { NO_LAG, NodeClock, drawRate, type TimerLag } from './clock.js';
import { rawNodeFactory, type CoreFactory } from './core.js';
import { EventQueue } from './events.js';
import { DriverHost } from './driver-host.js';
import { SimHost, type HostEvents, type HostTiming } from './host.js';
import type { SimServer } from './server.js';
import { SimNetwork, type NetworkParams } from './network.js';
import { SimRandom } from './random.js';
import { ReadChecker } from './reads.js';
import { proposalData } from './state-machine.js';
import { FileStore, MemoryStore, type NodeStore, type StoreKind } from './store.js';

/** How many servers may join over one run (the network is sized for them up front). */
export const MAX_JOINS = 8;

export interface ClusterOptions extends HostTiming {
  nodes: number;
  network: NetworkParams;
  trace?: boolean;
  factory?: CoreFactory;
  /**
   * 'loop': the simulator's own ready loop around RawNode, with fsync latency (SimHost).
   * 'driver': the production RaftDriver on the server's clock (DriverHost). Default 'loop'.
   */
  host?: 'loop' | 'driver';
  /** 'memory': SimStorage; 'file': FileStorage on a simulated disk. Default 'memory'. */
  store?: StoreKind;
  /** Clock rates spread over (1 + drift)^±½ (0: every clock exact). */
  drift?: number;
  /** How late timers fire (default: on time). */
  lag?: TimerLag;
  /** Bytes of each client proposal (its id padded with zeros). */
  payloadBytes?: number;
}

export interface Ack {
  id: string;
  index: number;
  at: number;
}

export interface ClusterListener {
  becameLeader?(node: NodeId, term: number, at: number): void;
  leaderCommitted?(node: NodeId, term: number, index: number, at: number): void;
  /** A proposal was acknowledged, refused, or lost by the node that took it. */
  settled?(id: string, acked: boolean): void;
}

export class SimCluster {
  readonly queue = new EventQueue();
  readonly checker: SafetyChecker;
  readonly net: SimNetwork;
  readonly hosts: SimServer[] = [];
  readonly acks: Ack[] = [];
  readonly traceLines: string[] = [];
  listener: ClusterListener = {};
  /** Called after every election (the lease watch starts watching the leader it deposed). */
  readonly onElection: (() => void)[] = [];
  readonly reads: ReadChecker;
  maxTerm = 0;
  /** The highest term in which a leader was elected. */
  newestLeaderTerm = 0;
  proposals = 0;
  private driverReads = 0;
  /** Servers whose storage failed or refused to open: down for good, by id, with the reason. */
  readonly failed = new Map<NodeId, string>();
  /** The one server whose disk the faults damage this seed (0: none). Only it may fail. */
  diskVictim: NodeId = 0;
  readonly stores: NodeStore[] = [];
  /**
   * term → whether every node that campaigned in it could reach a quorum at that moment. A term
   * whose campaigners all could, yet which elected no leader, was lost to a split vote.
   */
  readonly campaigns = new Map<number, boolean>();
  /** The membership as of the highest conf change any node applied (all apply the same sequence). */
  conf: ConfState;
  private confIndex = 0;
  /** Configuration (as confKey) right after each applied membership change, by index. */
  private readonly confAt = new Map<number, string>();
  /** Servers removed from the cluster: stopped for good, never restarted. */
  private readonly retired = new Set<NodeId>();
  private readonly tracing: boolean;
  private readonly clientRng: SimRandom;
  private readonly hostRng: SimRandom;
  private readonly phaseRng: SimRandom;
  private readonly clockRng: SimRandom;
  private readonly factory: CoreFactory;
  private readonly events: HostEvents;

  constructor(readonly rng: SimRandom, readonly opts: ClusterOptions) {
    this.tracing = opts.trace === true;
    this.checker = new SafetyChecker(() => this.queue.now());
    this.reads = new ReadChecker((property, detail) => this.checker.fail(property, detail));
    this.clientRng = rng.fork('client');
    const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    const lost = this.tracing ? (m: Message, why: string) => this.trace(`${why} ${describe(m)}`) : undefined;
    const width = opts.nodes + MAX_JOINS;
    this.net = new SimNetwork(this.queue, rng.fork('network'), width, opts.network, (m) => this.deliver(m), lost);
    this.conf = { voters: [...ids], learners: [], removed: [] };
    this.factory = opts.factory ?? rawNodeFactory;
    const events: HostEvents = {
      send: (m: Message) => {
        if (m.type === 'vote_resp' && !m.reject) this.checker.onVoteGranted(m.from, m.term, m.to);
        this.net.send(m);
      },
      trace: (line: string) => this.trace(line),
      acked: (_node: NodeId, id: string, index: number) => {
        this.acks.push({ id, index, at: this.queue.now() });
        this.reads.onAck(index);
        this.trace(`ack ${id} at ${index}`);
        this.listener.settled?.(id, true);
      },
      dropped: (_node: NodeId, id: string) => this.listener.settled?.(id, false),
      readsPending: (delta: number) => {
        this.driverReads += delta;
      },
      failed: (node: NodeId, reason: string) => {
        this.failed.set(node, reason);
        this.trace(`n${node} is down for good: ${reason}`);
        // Crashes alone must never leave a log a server refuses: torn tails are to be repaired.
        if (node !== this.diskVictim) this.checker.fail('durability', `n${node}, whose disk had no fault, stopped for good: ${reason}`);
      },
      becameLeader: (node: NodeId, term: number) => {
        if (term > this.newestLeaderTerm) this.newestLeaderTerm = term;
        this.listener.becameLeader?.(node, term, this.queue.now());
        for (const watch of this.onElection) watch();
      },
      leaderCommitted: (node: NodeId, term: number, index: number) =>
        this.listener.leaderCommitted?.(node, term, index, this.queue.now()),
      termSeen: (term: number) => {
        if (term > this.maxTerm) this.maxTerm = term;
      },
      campaigned: (node: NodeId, term: number) => {
        const connected = this.reachesQuorum(node);
        this.campaigns.set(term, (this.campaigns.get(term) ?? true) && connected);
        this.trace(`n${node} campaigns in term ${term}${connected ? '' : ' (cut off from a quorum)'}`);
      },
      confApplied: (node: NodeId, index: number, cc: ConfChange, after?: ConfState) => {
        this.confApplied(node, index, cc);
        if (after) this.checkConf(node, index, after);
      },
    };
    this.events = events;
    this.hostRng = rng.fork('hosts');
    // Each server's tick timer starts at its own phase, as independent processes would.
    this.phaseRng = rng.fork('phase');
    this.clockRng = rng.fork('clocks');
    for (const id of ids) this.addServer(id, this.conf);
  }

  /** The id the next joining server gets (ids are never reused); 0 when no more may join. */
  nextId(): NodeId {
    const id = this.hosts.length + 1;
    return id <= this.opts.nodes + MAX_JOINS ? id : 0;
  }

  /** Servers that are members now (voters and learners), running or not. */
  memberIds(): NodeId[] {
    return [...this.conf.voters, ...this.conf.learners].filter((id) => this.hosts[id - 1] !== undefined && !this.retired.has(id)).sort((a, b) => a - b);
  }

  isRetired(id: NodeId): boolean {
    return this.retired.has(id);
  }

  /**
   * Hosts the liveness checks hold to account: members that exist, are not retired, and whose
   * storage has not failed (those wait for an operator, whom the simulator does not model).
   */
  private memberHosts(): SimServer[] {
    return this.memberIds().filter((id) => !this.failed.has(id)).map((id) => this.hosts[id - 1]);
  }

  private addServer(id: NodeId, conf: ConfState): void {
    const own = this.hostRng.fork(`n${id}`);
    const store: NodeStore = this.opts.store === 'file' ? new FileStore(conf, own.fork('store')) : new MemoryStore(conf);
    this.stores.push(store);
    // The phase: processes start at different instants, so their ticks are not aligned.
    const phase = this.phaseRng.between(0, this.opts.tickMs);
    const clock = new NodeClock(this.queue, own.fork('clock'), drawRate(this.clockRng, this.opts.drift ?? 0), this.opts.lag ?? NO_LAG);
    if (this.opts.host === 'driver') {
      this.hosts.push(new DriverHost(id, store, this.opts, this.queue, own, this.checker, this.events, clock, phase));
    } else {
      this.hosts.push(new SimHost(id, store, this.factory, this.opts, this.queue, own, this.checker, this.events, clock, phase));
    }
  }

  /**
   * A node applied a membership change. The first time an index is seen, the cluster follows it:
   * a server added to the configuration is started (empty, knowing the configuration it joins),
   * a removed one is stopped for good.
   */
  private confApplied(node: NodeId, index: number, cc: ConfChange): void {
    if (index <= this.confIndex) return;
    this.confIndex = index;
    const before = this.conf;
    this.conf = applyConf(before, cc);
    this.confAt.set(index, confKey(this.conf));
    if (sameConf(before, this.conf)) return;
    this.trace(`conf ${cc.type} n${cc.node} at ${index} (seen on n${node}): voters ${this.conf.voters.join(',')} learners ${this.conf.learners.join(',') || '-'}`);
    if ((cc.type === 'add_learner' || cc.type === 'add_voter') && this.hosts[cc.node - 1] === undefined && cc.node === this.hosts.length + 1) {
      // The joiner starts EMPTY, with no configuration at all, as a deployment starts it: it
      // neither campaigns nor accepts entries until the leader's snapshot (the index-0 bootstrap
      // one if nothing is compacted) teaches it the membership, removed ids included.
      this.addServer(cc.node, { voters: [], learners: [] });
    }
    if (cc.type === 'remove' && this.hosts[cc.node - 1] !== undefined && !this.retired.has(cc.node)) {
      this.retired.add(cc.node);
      // Shut it down once it no longer leads: a removed leader keeps leading until the remaining
      // voters know its removal committed (as an operator waits for it to hand over), and this
      // may be the very node applying the change right now.
      const host = this.hosts[cc.node - 1];
      const retire = (): void => {
        if (host.isLeader && host.state === 'up') {
          this.queue.schedule(this.opts.tickMs, retire);
          return;
        }
        this.trace(`retire n${cc.node}`);
        host.crash();
      };
      this.queue.schedule(0, retire);
    }
  }

  /** Every node must reach the same configuration after applying the same change (our model's). */
  private checkConf(node: NodeId, index: number, after: ConfState): void {
    const want = this.confAt.get(index);
    const got = confKey({ voters: [...after.voters].sort((a, b) => a - b), learners: [...after.learners].sort((a, b) => a - b), removed: [...(after.removed ?? [])].sort((a, b) => a - b) });
    if (want !== undefined && want !== got) {
      this.checker.fail('membership', `n${node} has configuration ${got} after index ${index}; expected ${want}`);
    }
  }

  /** The client's side of a membership change: ask the current leader to propose it. */
  proposeConfChange(cc: ConfChange): boolean {
    const l = this.leader();
    if (l === 0) return false;
    this.trace(`propose ${cc.type} n${cc.node} via n${l}`);
    this.host(l).proposeConfChange(cc);
    return true;
  }

  get now(): number {
    return this.queue.now();
  }

  host(id: NodeId): SimServer {
    const h = this.hosts[id - 1];
    if (h === undefined) throw new Error(`no node ${id}`);
    return h;
  }

  /** Run every event up to virtual time `t`. */
  runUntil(t: number): void {
    while (this.queue.step(t)) {
      /* each step runs one event; the checker runs inside it */
    }
    this.queue.advanceTo(t);
  }

  /**
   * Run until `done()` holds (tested every `everyMs`) or `limit` is reached; returns the time
   * `done()` first held, or -1.
   */
  runUntilTrue(done: () => boolean, limit: number, everyMs: number): number {
    let next = this.now;
    while (next <= limit) {
      this.runUntil(next);
      if (done()) return this.now;
      next += everyMs;
    }
    this.runUntil(limit);
    return -1;
  }

  /** The leader with the highest term among nodes that are not crashed, or 0. */
  leader(): NodeId {
    let best = 0;
    let bestTerm = -1;
    for (const h of this.hosts) {
      if (!h.isLeader) continue;
      const st = h.status();
      if (st && st.term > bestTerm) {
        best = h.id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** A leader every running node agrees on (same leader id, same term), or 0. */
  agreedLeader(): NodeId {
    let leader = -1;
    let term = -1;
    for (const h of this.memberHosts()) {
      if (h.state === 'crashed') continue;
      const st = h.status();
      if (st === null) continue;
      if (leader === -1) {
        leader = st.leader;
        term = st.term;
      } else if (st.leader !== leader || st.term !== term) {
        return 0;
      }
    }
    if (leader <= 0 || this.hosts[leader - 1] === undefined) return 0;
    const lh = this.host(leader);
    return lh.isLeader && lh.state === 'up' ? leader : 0;
  }

  /** Can `id` exchange messages both ways with a quorum of running nodes (itself included)? */
  reachesQuorum(id: NodeId): boolean {
    let reach = 0;
    const voters = this.conf.voters;
    for (const v of voters) {
      const h = this.hosts[v - 1];
      if (h === undefined || h.state !== 'up') continue;
      if (v === id || (!this.net.isCut(id, v) && !this.net.isCut(v, id))) reach++;
    }
    return reach > voters.length / 2;
  }

  /** Lowest applied index over the running nodes. */
  minApplied(): number {
    let min = Infinity;
    for (const h of this.memberHosts()) {
      if (h.state === 'crashed') continue;
      min = Math.min(min, this.checker.appliedOf(h.id).index);
    }
    return min === Infinity ? 0 : min;
  }

  /**
   * The client sends one proposal to the node a random server names as leader; returns its id
   * and whether a node took it (the listener hears how it ends).
   */
  propose(): { id: string; taken: boolean } {
    const id = `p${++this.proposals}`;
    const target = this.clientTarget();
    this.trace(`client ${id} -> n${target.id}`);
    return { id, taken: target.propose(id, proposalData(id, this.opts.payloadBytes)) };
  }

  /** Where the client sends a request: the node a random member names as leader, or that member. */
  private clientTarget(): SimServer {
    const asked = this.host(this.clientRng.pick(this.memberIds()));
    const hint = asked.status()?.leader ?? 0;
    return hint > 0 && this.hosts[hint - 1] !== undefined ? this.host(hint) : asked;
  }

  /**
   * The client reads. A read-index read goes to the node named leader and is recorded when it
   * answers. A lease read is answered at once from the applied state of a node that believes its
   * lease (time elapsed since its last tick counted first); a node without one refuses.
   */
  read(kind: 'index' | 'lease'): void {
    const target = this.clientTarget();
    const start = this.now;
    const floor = this.reads.onStart();
    if (kind === 'lease') {
      // Asking counts the ticks due first, which may end the lease (or the leadership) now.
      if (!target.isLeader || !target.hasLease()) {
        this.reads.onRefused();
        return;
      }
      const term = target.status()?.term ?? 0;
      const index = this.checker.appliedOf(target.id).index;
      this.trace(`client lease read on n${target.id} (term ${term}) sees ${index}`);
      this.reads.onAnswer({ kind, node: target.id, start, end: start, index, floor }, { term, newestLeaderTerm: this.newestLeaderTerm });
      return;
    }
    if (!target.isLeader) {
      // A follower would only redirect the client: count it refused without asking the core.
      this.reads.onRefused();
      return;
    }
    const taken = target.readIndex((index) => {
      if (index === undefined) {
        this.reads.onRefused();
        return;
      }
      this.trace(`client read on n${target.id} sees ${index}`);
      this.reads.onAnswer({ kind, node: target.id, start, end: this.now, index, floor });
    });
    if (!taken) this.reads.onRefused();
  }

  /** Read-index requests handed to a RaftDriver whose promise has not settled yet. */
  readsInFlight(): number {
    return this.driverReads;
  }

  /** A disk fault on server `id` (file stores only); returns what was done, for the fault log. */
  diskFault(id: NodeId, kind: 'flip' | 'full' | 'eio', on = true): string {
    const disk = this.stores[id - 1]?.disk;
    if (disk === undefined) return 'no simulated disk';
    let what: string;
    switch (kind) {
      case 'flip': {
        const at = disk.flipBit();
        what = at ? `bit flipped in ${at.file} at byte ${at.offset}` : 'nothing durable to flip';
        break;
      }
      case 'full':
        disk.full = on;
        what = on ? 'disk full' : 'disk has room again';
        break;
      case 'eio':
        disk.failingSyncs = on ? 1 : 0;
        what = on ? 'next fsync fails' : 'fsyncs work';
        break;
    }
    this.trace(`fault n${id} ${what}`);
    return what;
  }

  crash(id: NodeId): void {
    this.trace(`fault crash n${id}`);
    this.host(id).crash();
  }

  restart(id: NodeId): void {
    if (this.retired.has(id)) return;
    this.trace(`fault restart n${id}`);
    this.host(id).restart();
  }

  transfer(from: NodeId, to: NodeId): void {
    this.trace(`fault transfer n${from} -> n${to}`);
    this.host(from).transfer(to);
  }

  pause(id: NodeId): void {
    this.trace(`fault pause n${id}`);
    this.host(id).pause();
  }

  resume(id: NodeId): void {
    this.trace(`fault resume n${id}`);
    this.host(id).resume();
  }

  trace(line: string): void {
    if (this.tracing) this.traceLines.push(`${this.queue.now().toFixed(3)} ${line}`);
  }

  private deliver(m: Message): void {
    const to = this.hosts[m.to - 1];
    if (to === undefined) return; // a server the cluster has not started (yet)
    if (this.tracing) this.trace(describe(m));
    to.receive(m);
  }
}

/** One line per message, for traces. */
export function describe(m: Message): string {
  let s = `n${m.from}->n${m.to} ${m.type} t${m.term}`;
  if (m.logTerm !== undefined) s += ` lt${m.logTerm}`;
  if (m.index !== undefined) s += ` i${m.index}`;
  if (m.entries && m.entries.length > 0) s += ` e${m.entries[0].index}..${m.entries[m.entries.length - 1].index}`;
  if (m.commit !== undefined) s += ` c${m.commit}`;
  if (m.reject) s += ` reject h${m.rejectHint ?? ''}`;
  if (m.snapshot) s += ` snap${m.snapshot.meta.index}`;
  return s;
}

/** The membership after one change, as the core applies it (refused changes change nothing). */
function applyConf(c: ConfState, cc: ConfChange): ConfState {
  const removed = c.removed ?? [];
  const voters = c.voters.filter((id) => id !== cc.node);
  const learners = c.learners.filter((id) => id !== cc.node);
  const member = c.voters.includes(cc.node) || c.learners.includes(cc.node);
  if (removed.includes(cc.node)) return c;
  switch (cc.type) {
    case 'add_voter':
      return { voters: [...voters, cc.node], learners, removed };
    case 'add_learner':
      return c.voters.includes(cc.node) ? c : { voters, learners: [...learners, cc.node], removed };
    case 'promote':
      return c.learners.includes(cc.node) ? { voters: [...voters, cc.node], learners, removed } : c;
    case 'remove':
      return member ? { voters, learners, removed: [...removed, cc.node] } : c;
  }
}

function sameConf(a: ConfState, b: ConfState): boolean {
  return confKey(a) === confKey(b);
}

/** A canonical text form of a configuration (ids sorted). */
function confKey(c: ConfState): string {
  const ids = (xs: readonly number[] | undefined): string => [...(xs ?? [])].sort((a, b) => a - b).join(',');
  return `voters ${ids(c.voters)} learners ${ids(c.learners)} removed ${ids(c.removed)}`;
}
