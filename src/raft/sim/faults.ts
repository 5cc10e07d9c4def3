/**
 * Plays a scenario's fault episodes on a cluster: resolves each episode's target (often "the
 * current leader") when it starts, undoes it when it ends, heals everything at the end of the
 * fault stretch, and measures the term growth of each clean partition episode.
 */
import type { NodeId } from '../types.js';
import type { SimCluster } from './cluster.js';
import { describeEpisode, type Episode, type Scenario } from './scenario.js';

/** Plays the fault episodes on the cluster, undoes them, and measures term growth. */
export class FaultPlayer {
  readonly log: string[] = [];
  worstGrowth = 0;
  measured = 0;
  private healed = false;
  private readonly paused = new Map<NodeId, number>();
  private readonly crashed = new Map<NodeId, number>();
  private readonly pending: { episode: Episode; startTerm: number }[] = [];
  /** The one server whose disk fails this seed (0: none yet). */
  private diskVictim: NodeId = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly s: Scenario,
  ) {}

  scheduleAll(): void {
    const eps = this.s.episodes;
    const settle = this.s.config.settle;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i];
      const clean = ep.partition && this.s.mode === 'measured' && this.isolated(i, settle);
      this.cluster.queue.schedule(ep.start, () => this.begin(ep, clean));
    }
  }

  /** Heal everything: links, stalls, crashed nodes, and the network's noise. */
  healAll(): void {
    this.healed = true;
    const c = this.cluster;
    c.net.healAll();
    c.net.params = { ...c.net.params, drop: 0, duplicate: 0, reorder: 0 };
    for (const store of c.stores) {
      if (store.disk === undefined) continue;
      store.disk.full = false;
      store.disk.failingSyncs = 0;
    }
    for (const h of c.hosts) {
      if (h.state === 'paused') c.resume(h.id);
      if (h.state === 'crashed') c.restart(h.id);
    }
    this.paused.clear();
    this.crashed.clear();
    this.note('heal everything');
  }

  /** Measurements whose window the run ended inside are taken now. */
  finishMeasurements(): void {
    for (const p of this.pending.splice(0)) this.measure(p.episode, p.startTerm);
  }

  /** No other episode comes within `settle` of this one. */
  private isolated(i: number, settle: number): boolean {
    const eps = this.s.episodes;
    const a = eps[i];
    for (let j = 0; j < eps.length; j++) {
      if (j === i) continue;
      const b = eps[j];
      if (b.start < a.start + a.duration + settle && a.start < b.start + b.duration + settle) return false;
    }
    return true;
  }

  private begin(ep: Episode, clean: boolean): void {
    if (this.healed) return;
    const c = this.cluster;
    // "node k" is the k-th member in id order (the same as id k until membership changes).
    const members = c.memberIds();
    const n = members.length;
    let target = ep.target === 'leader' ? c.leader() : members[(ep.target - 1) % n];
    if (target === 0 || !members.includes(target)) target = members[0]; // no leader now: the first member
    if (ep.kind.startsWith('disk_')) {
      // Every disk fault of a seed hits the same server, so the others keep a quorum.
      if (this.diskVictim === 0) {
        this.diskVictim = target;
        c.diskVictim = target;
      }
      target = this.diskVictim;
    }
    const at = members.indexOf(target);
    const others = ['membership', 'grow', 'shrink'].includes(ep.kind) ? [] : ep.offsets.map((o) => members[(at + o) % n]).filter((id) => id !== target);
    this.note(`${describeEpisode(ep, this.s.config.nodes)} -> n${target}${others.length ? ' with ' + others.map((o) => `n${o}`).join(', ') : ''}`);
    const undo = this.apply(ep, target, others);
    c.queue.schedule(ep.duration, () => {
      if (this.healed) return;
      undo();
    });
    if (clean) {
      const entry = { episode: ep, startTerm: c.maxTerm };
      this.pending.push(entry);
      c.queue.schedule(ep.duration + this.s.config.settle, () => {
        const at = this.pending.indexOf(entry);
        if (at < 0) return;
        this.pending.splice(at, 1);
        this.measure(ep, entry.startTerm);
      });
    }
  }

  /**
   * Term growth over an episode's window, less the terms lost to plain split votes (every
   * campaigner could reach a quorum, yet nobody won): those come from timeouts that happened to
   * coincide, not from the partition, and pre-vote is not meant to prevent them.
   */
  private measure(ep: Episode, startTerm: number): void {
    const c = this.cluster;
    // With a server down for good the survivors have no spare vote, and a partition between them
    // may cost more rounds: the bound is about partitions of a whole cluster.
    if (c.failed.size > 0) return;
    this.measured++;
    let splits = 0;
    for (let t = startTerm + 1; t <= c.maxTerm; t++) {
      if (!c.checker.leaderOfTerm.has(t) && c.campaigns.get(t) === true) splits++;
    }
    const growth = c.maxTerm - startTerm - splits;
    if (growth > this.worstGrowth) this.worstGrowth = growth;
    if (growth > this.s.config.maxTermGrowth) {
      c.checker.fail(
        'term growth',
        `term grew by ${growth} (from ${startTerm}, not counting ${splits} split votes) in episode ` +
          `"${describeEpisode(ep, this.s.config.nodes)}" started at ${(ep.start / 1000).toFixed(3)}s`,
      );
    }
  }

  /** Start an episode on resolved nodes; returns how to end it. */
  private apply(ep: Episode, target: NodeId, others: NodeId[]): () => void {
    const c = this.cluster;
    const net = c.net;
    const members = c.memberIds();
    const rest = members.filter((id) => id !== target && !others.includes(id));
    switch (ep.kind) {
      case 'isolate':
      case 'split': {
        const side = [target, ...others];
        const each = (f: (a: NodeId, b: NodeId) => void): void => side.forEach((a) => rest.forEach((b) => f(a, b)));
        each((a, b) => net.cutBoth(a, b));
        return () => each((a, b) => net.healBoth(a, b));
      }
      case 'one_way_out': {
        const all = members.filter((id) => id !== target);
        all.forEach((b) => net.cut(target, b));
        return () => all.forEach((b) => net.heal(target, b));
      }
      case 'one_way_in': {
        const all = members.filter((id) => id !== target);
        all.forEach((b) => net.cut(b, target));
        return () => all.forEach((b) => net.heal(b, target));
      }
      case 'one_way_link':
        net.cut(target, others[0]);
        return () => net.heal(target, others[0]);
      case 'partial':
        net.cutBoth(target, others[0]);
        return () => net.healBoth(target, others[0]);
      case 'flap':
        return this.flap(target, others[0], ep.phases ?? []);
      case 'pause':
        this.pause(target);
        return () => this.resume(target);
      case 'transfer':
        if (others.length > 0) c.transfer(target, others[0]);
        return () => undefined;
      case 'membership':
        return this.membership(ep.offsets[0] ?? 0, true, true);
      case 'grow':
        return this.membership(0, true, false);
      case 'shrink':
        return this.membership(ep.offsets[0] ?? 0, false, true);
      case 'disk_flip':
        this.note(`n${target}: ${c.diskFault(target, 'flip')}`);
        this.crash(target);
        return () => this.restart(target);
      case 'disk_full':
      case 'disk_eio': {
        const kind = ep.kind === 'disk_full' ? 'full' : 'eio';
        this.note(`n${target}: ${c.diskFault(target, kind, true)}`);
        return () => c.diskFault(target, kind, false);
      }
      case 'crash':
      case 'crash_many': {
        const down = [target, ...others];
        down.forEach((id) => this.crash(id));
        return () => down.forEach((id) => this.restart(id));
      }
    }
  }

  /**
   * Move the membership one server at a time, through the leader's public API
   * (proposeConfChange): `grow` adds the next id as a learner and promotes it once it has caught
   * up; `shrink` then removes a voter picked by `pick` (possibly the leader), unless only three
   * would be left; both together replace a voter. Each step is asked of whoever leads, again
   * every 200 ms until the cluster's configuration shows it; the episode's end stops asking,
   * which may leave the change half done (a valid configuration too).
   */
  private membership(pick: number, grow: boolean, shrink: boolean): () => void {
    const c = this.cluster;
    const joiner = grow ? c.nextId() : 0;
    if (grow && joiner === 0) return () => undefined;
    if (!grow && c.conf.voters.length <= 3) {
      this.note('shrink: only 3 voters, nothing removed');
      return () => undefined;
    }
    let stage: 'add' | 'promote' | 'remove' | 'done' = grow ? 'add' : 'remove';
    let victim = 0;
    let stopped = false;
    const step = (): void => {
      if (stopped || this.healed) return;
      const conf = c.conf;
      if (stage === 'add') {
        if (conf.voters.includes(joiner) || conf.learners.includes(joiner)) stage = 'promote';
        else c.proposeConfChange({ type: 'add_learner', node: joiner });
      }
      if (stage === 'promote') {
        if (conf.voters.includes(joiner)) stage = shrink ? 'remove' : 'done';
        else if (c.checker.appliedOf(joiner).index + 10 >= c.checker.committedIndex) c.proposeConfChange({ type: 'promote', node: joiner });
      }
      if (stage === 'remove') {
        if (victim === 0) {
          const voters = conf.voters.filter((id) => id !== joiner);
          // An operator replaces the server whose disk failed before any healthy one.
          victim = voters.find((id) => c.failed.has(id)) ?? voters[pick % voters.length];
          this.note(grow ? `membership: n${joiner} is a voter; removing n${victim}` : `membership: removing n${victim}`);
        }
        if (!conf.voters.includes(victim) && !conf.learners.includes(victim)) stage = 'done';
        else if (conf.voters.length <= 3) {
          // Two episodes may share one joiner; neither may take the cluster below 3 voters.
          this.note(`membership: not removing n${victim}: only 3 voters`);
          stage = 'done';
        } else if (leavesLiveQuorum(conf.voters, victim, c.failed)) c.proposeConfChange({ type: 'remove', node: victim });
        else {
          // Nor does an operator remove a healthy voter when the rest, without the broken ones,
          // would not be a quorum of what is left: no leader could ever be elected again.
          this.note(`membership: not removing n${victim}: the servers left alive would not be a quorum`);
          stage = 'done';
        }
      }
      if (stage !== 'done') c.queue.schedule(200, step);
    };
    step();
    return () => {
      stopped = true;
    };
  }

  /** Alternate down and up phases on one link; the episode's end leaves it up. */
  private flap(a: NodeId, b: NodeId, phases: number[]): () => void {
    const net = this.cluster.net;
    let down = false;
    let at = 0;
    const toggle = (): void => {
      if (this.healed) return;
      if (down) net.healBoth(a, b);
      else net.cutBoth(a, b);
      down = !down;
    };
    for (const p of phases) {
      this.cluster.queue.schedule(at, toggle);
      at += p;
    }
    // Phases end exactly at the episode's end; the undo only has to lift a cut still in place.
    return () => {
      if (down) {
        net.healBoth(a, b);
        down = false;
      }
    };
  }

  private pause(id: NodeId): void {
    const depth = this.paused.get(id) ?? 0;
    this.paused.set(id, depth + 1);
    if (depth === 0) this.cluster.pause(id);
  }

  private resume(id: NodeId): void {
    const depth = (this.paused.get(id) ?? 1) - 1;
    this.paused.set(id, depth);
    if (depth === 0) this.cluster.resume(id);
  }

  private crash(id: NodeId): void {
    const depth = this.crashed.get(id) ?? 0;
    this.crashed.set(id, depth + 1);
    if (depth === 0) this.cluster.crash(id);
  }

  private restart(id: NodeId): void {
    const depth = (this.crashed.get(id) ?? 1) - 1;
    this.crashed.set(id, depth);
    if (depth === 0) this.cluster.restart(id);
  }

  private note(line: string): void {
    this.log.push(`${(this.cluster.now / 1000).toFixed(3)}s  ${line}`);
    this.cluster.trace(`fault ${line}`);
  }
}

/** Whether the voters left after removing `victim`, less those down for good, are a quorum of them. */
function leavesLiveQuorum(voters: readonly NodeId[], victim: NodeId, failed: ReadonlyMap<NodeId, string>): boolean {
  const left = voters.filter((id) => id !== victim);
  const alive = left.filter((id) => !failed.has(id)).length;
  return alive > left.length / 2;
}
