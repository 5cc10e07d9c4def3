/**
 * A simulated cluster: N hosts, one network, one checker and one event queue. It offers the
 * fault primitives (cut, pause, crash, restart), a client that proposes through whichever node
 * claims to lead, and an optional trace of everything that happens, for byte-identical replays.
 */
import { type ConfChange, type ConfState, type Message, type NodeId } from '../types.js';
import { SafetyChecker } from './checker.js';
import { rawNodeFactory, type CoreFactory } from './core.js';
import { EventQueue } from './events.js';
import { DriverHost } from './driver-host.js';
import { SimHost, type HostEvents, type HostTiming } from './host.js';
import type { SimServer } from './server.js';
import { SimNetwork, type NetworkParams } from './network.js';
import { SimRandom } from './random.js';
import { SimStorage } from './storage.js';

/** How many servers may join over one run (the network is sized for them up front). */
export const MAX_JOINS = 8;

export interface ClusterOptions extends HostTiming {
  nodes: number;
  /** Virtual ms per core tick. */
  tickMs: number;
  network: NetworkParams;
  trace?: boolean;
  factory?: CoreFactory;
  /**
   * 'loop': the simulator's own ready loop around RawNode, with fsync latency (SimHost).
   * 'driver': the production RaftDriver on the virtual clock (DriverHost). Default 'loop'.
   */
  host?: 'loop' | 'driver';
}

export interface Ack {
  id: string;
  index: number;
  at: number;
}

export interface ClusterListener {
  becameLeader?(node: NodeId, term: number, at: number): void;
  leaderCommitted?(node: NodeId, term: number, index: number, at: number): void;
}

export class SimCluster {
  readonly queue = new EventQueue();
  readonly checker: SafetyChecker;
  readonly net: SimNetwork;
  readonly hosts: SimServer[] = [];
  readonly acks: Ack[] = [];
  readonly traceLines: string[] = [];
  listener: ClusterListener = {};
  maxTerm = 0;
  proposals = 0;
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
  /** The membership every server of the first generation boots with (index 0). */
  private readonly initialConf: ConfState;
  /** Servers removed from the cluster: stopped for good, never restarted. */
  private readonly retired = new Set<NodeId>();
  private readonly tracing: boolean;
  private readonly clientRng: SimRandom;
  private readonly hostRng: SimRandom;
  private readonly phaseRng: SimRandom;
  private readonly factory: CoreFactory;
  private readonly events: HostEvents;

  constructor(readonly rng: SimRandom, readonly opts: ClusterOptions) {
    this.tracing = opts.trace === true;
    this.checker = new SafetyChecker(() => this.queue.now());
    this.clientRng = rng.fork('client');
    const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    const lost = this.tracing ? (m: Message, why: string) => this.trace(`${why} ${describe(m)}`) : undefined;
    const width = opts.nodes + MAX_JOINS;
    this.net = new SimNetwork(this.queue, rng.fork('network'), width, opts.network, (m) => this.deliver(m), lost);
    this.conf = { voters: [...ids], learners: [], removed: [] };
    this.initialConf = this.conf;
    this.factory = opts.factory ?? rawNodeFactory;
    const events: HostEvents = {
      send: (m: Message) => this.net.send(m),
      trace: (line: string) => this.trace(line),
      acked: (_node: NodeId, id: string, index: number) => {
        this.acks.push({ id, index, at: this.queue.now() });
        this.trace(`ack ${id} at ${index}`);
      },
      becameLeader: (node: NodeId, term: number) => this.listener.becameLeader?.(node, term, this.queue.now()),
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

  /** Hosts the liveness checks hold to account: members that exist and are not retired. */
  private memberHosts(): SimServer[] {
    return this.memberIds().map((id) => this.hosts[id - 1]);
  }

  private addServer(id: NodeId, conf: ConfState): void {
    const storage = new SimStorage(conf);
    const own = this.hostRng.fork(`n${id}`);
    const phase = this.phaseRng.between(0, this.opts.tickMs);
    if (this.opts.host === 'driver') {
      this.hosts.push(new DriverHost(id, storage, this.opts.tickMs, this.opts, this.queue, own, this.checker, this.events, phase));
    } else {
      const host = new SimHost(id, storage, this.factory, this.opts, this.queue, own, this.checker, this.events);
      this.hosts.push(host);
      this.startTicks(host, phase);
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
      // The joiner starts empty, with the bootstrap membership every original server has at
      // index 0: the initial membership is not in the log, and replaying the log over the
      // *current* membership would give it future configurations at past indexes (which its
      // snapshots would then carry to others).
      this.addServer(cc.node, this.initialConf);
    }
    if (cc.type === 'remove' && this.hosts[cc.node - 1] !== undefined && !this.retired.has(cc.node)) {
      this.retired.add(cc.node);
      // Shut it down after this event: it may be the very node applying the change right now.
      this.queue.schedule(0, () => {
        this.trace(`retire n${cc.node}`);
        this.hosts[cc.node - 1].crash();
      });
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

  /** The client sends one proposal to the node a random server names as leader. */
  propose(): void {
    const id = `p${++this.proposals}`;
    const asked = this.host(this.clientRng.pick(this.memberIds()));
    const hint = asked.status()?.leader ?? 0;
    const target = hint > 0 && this.hosts[hint - 1] !== undefined ? this.host(hint) : asked;
    const data = new Uint8Array(id.length);
    for (let i = 0; i < id.length; i++) data[i] = id.charCodeAt(i);
    this.trace(`client ${id} -> n${target.id}`);
    target.propose(id, data);
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

  private startTicks(host: SimServer, phase: number): void {
    const tickMs = this.opts.tickMs;
    const fire = (): void => {
      host.tick();
      this.queue.schedule(tickMs, fire);
    };
    this.queue.schedule(phase, fire);
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
