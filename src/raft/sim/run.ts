/**
 * Runs one seed: build the cluster, play the client and the fault schedule, heal, then hold the
 * cluster to the bounds. The safety checker runs inside every event; the liveness bounds and the
 * term-growth bound are checked here.
 */
import type { Violation } from './checker.js';
import { SimCluster } from './cluster.js';
import type { CoreFactory } from './core.js';
import { SimRandom } from './random.js';
import { FaultPlayer } from './faults.js';
import { LeaseWatch } from './lease.js';
import { defaultConfig, describeScenario, drawScenario, type Scenario } from './scenario.js';

export interface RunOptions {
  nodes?: 3 | 5;
  trace?: boolean;
  factory?: CoreFactory;
  /** Checker self-test only: crashes also wipe the disk (see HostTiming.loseDiskOnCrash). */
  loseDiskOnCrash?: boolean;
  /** Override the seed's choice of server driver. */
  host?: 'loop' | 'driver';
  /** Default on; off shows what the term-growth bound guards against. */
  preVote?: boolean;
}

export interface SeedResult {
  seed: number;
  nodes: number;
  violations: Violation[];
  /** Virtual ms from healing to an agreed leader (-1: none within the bound). */
  timeToLeader: number;
  /** Virtual ms from healing to every acknowledged proposal applied everywhere (-1: not within the bound). */
  timeToApplied: number;
  proposals: number;
  acked: number;
  maxTerm: number;
  /** The most the highest term grew in one clean partition episode. */
  worstTermGrowth: number;
  /** Clean partition episodes whose term growth was checked. */
  termEpisodes: number;
  /** Longest virtual ms a deposed leader still held its quorum lease while a newer leader led. */
  worstLeaseOverlap: number;
  schedule: string;
  /** Faults as they happened, with the nodes they resolved to. */
  faults: string[];
  trace: string;
}

export function runSeed(seed: number, opts: RunOptions = {}): SeedResult {
  const scenario = drawScenario(seed, defaultConfig(opts.nodes ?? 3));
  return runScenario(scenario, opts);
}

export function runScenario(s: Scenario, opts: RunOptions = {}): SeedResult {
  const c = s.config;
  const cluster = new SimCluster(new SimRandom(s.seed), {
    nodes: c.nodes,
    tickMs: c.tickMs,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    minSync: s.minSync,
    maxSync: s.maxSync,
    compactEvery: s.compactEvery,
    compactKeep: s.compactKeep,
    network: s.network,
    trace: opts.trace,
    factory: opts.factory,
    host: opts.host ?? s.host,
    loseDiskOnCrash: opts.loseDiskOnCrash,
    preVote: opts.preVote,
  });
  const faults = new FaultPlayer(cluster, s);
  faults.scheduleAll();
  scheduleClient(cluster, s);
  const lease = new LeaseWatch(cluster, c.tickMs * c.electionTick);
  lease.start();

  cluster.runUntil(c.healAt);
  faults.healAll();
  const healAt = cluster.now;
  const leaderAt = cluster.runUntilTrue(() => cluster.agreedLeader() !== 0, healAt + c.leaderBound, c.tickMs);
  if (leaderAt < 0) {
    cluster.checker.fail('liveness', `no agreed leader within ${c.leaderBound} ms of healing`);
  }
  const target = maxAckedIndex(cluster);
  const appliedAt = cluster.runUntilTrue(
    () => cluster.agreedLeader() !== 0 && cluster.minApplied() >= target,
    healAt + c.appliedBound,
    c.tickMs,
  );
  if (appliedAt < 0) {
    const lagging = cluster.memberIds().filter((id) => cluster.checker.appliedOf(id).index < target).map((id) => `n${id}`);
    cluster.checker.fail(
      'liveness',
      `acknowledged index ${target} not applied on ${lagging.join(', ') || 'all nodes'} within ${c.appliedBound} ms of healing`,
    );
  }
  faults.finishMeasurements();
  return {
    seed: s.seed,
    nodes: c.nodes,
    violations: cluster.checker.violations,
    timeToLeader: leaderAt < 0 ? -1 : leaderAt - healAt,
    timeToApplied: appliedAt < 0 ? -1 : appliedAt - healAt,
    proposals: cluster.proposals,
    acked: cluster.acks.length,
    maxTerm: cluster.maxTerm,
    worstTermGrowth: faults.worstGrowth,
    worstLeaseOverlap: lease.worst,
    termEpisodes: faults.measured,
    schedule: describeScenario(s),
    faults: faults.log,
    trace: cluster.traceLines.join('\n'),
  };
}

function maxAckedIndex(cluster: SimCluster): number {
  let max = 0;
  for (const a of cluster.acks) if (a.index > max) max = a.index;
  return max;
}

function scheduleClient(cluster: SimCluster, s: Scenario): void {
  const rng = new SimRandom(s.seed).fork('arrivals');
  const next = (): void => {
    cluster.propose();
    const gap = rng.exponential(s.config.proposalGap);
    if (cluster.now + gap < s.config.healAt) cluster.queue.schedule(gap, next);
  };
  cluster.queue.schedule(rng.exponential(s.config.proposalGap), next);
}
