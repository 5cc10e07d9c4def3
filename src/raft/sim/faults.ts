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
    const at = members.indexOf(target);
    const others = ep.kind === 'membership' ? [] : ep.offsets.map((o) => members[(at + o) % n]).filter((id) => id !== target);
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
    this.measured++;
    const c = this.cluster;
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
        return this.membership(ep.offsets[0] ?? 0);
      case 'crash':
      case 'crash_many': {
        const down = [target, ...others];
        down.forEach((id) => this.crash(id));
        return () => down.forEach((id) => this.restart(id));
      }
    }
  }

  /**
   * Replace a voter, one server at a time: add the next id as a learner, promote it once it has
   * caught up, then remove a voter picked by `pick` (possibly the leader). Each step is asked of
   * whoever leads, again every 200 ms until the cluster's configuration shows it; the episode's
   * end stops asking, which may leave the change half done (a valid configuration too).
   */
  private membership(pick: number): () => void {
    const c = this.cluster;
    const joiner = c.nextId();
    if (joiner === 0) return () => undefined;
    let stage: 'add' | 'promote' | 'remove' | 'done' = 'add';
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
        if (conf.voters.includes(joiner)) stage = 'remove';
        else if (c.checker.appliedOf(joiner).index + 10 >= c.checker.committedIndex) c.proposeConfChange({ type: 'promote', node: joiner });
      }
      if (stage === 'remove') {
        if (victim === 0) {
          const voters = conf.voters.filter((id) => id !== joiner);
          victim = voters[pick % voters.length];
          this.note(`membership: n${joiner} is a voter; removing n${victim}`);
        }
        if (!conf.voters.includes(victim) && !conf.learners.includes(victim)) stage = 'done';
        else c.proposeConfChange({ type: 'remove', node: victim });
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
