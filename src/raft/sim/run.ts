/**
 * Runs one seed: build the cluster, play the client and the fault schedule, heal, then hold the
 * cluster to the bounds. The safety checker runs inside every event; the liveness bounds and the
 * term-growth bound are checked here. Servers whose storage failed stay down and are left out of
 * the liveness bounds (an operator would have to repair them).
 *
 * Async only because RaftDriver answers read-index requests with promises: while one is
 * outstanding, microtasks run after every event, so each read is recorded at the virtual instant
 * it was answered.
 */
import type { Violation } from './checker.js';
import { SimClient } from './client.js';
import { SimCluster } from './cluster.js';
import type { CoreFactory } from './core.js';
import { DEFAULT_CHOICE, choiceFlags, type FeatureChoice } from './features.js';
import { FaultPlayer } from './faults.js';
import { LeaseWatch } from './lease.js';
import { SimRandom } from './random.js';
import type { ReadStats } from './reads.js';
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
  /** Default on; off (with a faked lease) shows the lease checks failing. */
  checkQuorum?: boolean;
  /** Which features the seeds draw (default: each by its share). */
  choice?: FeatureChoice;
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
  /** Longest virtual ms a deposed leader believed its lease (0 unless the lease is broken). */
  worstLeaseOverlap: number;
  reads: ReadStats;
  /** Servers down for good because their storage failed, with the reason. */
  failed: string[];
  schedule: string;
  /** The feature flags the seed ran with (for the replay command). */
  flags: string;
  /** Faults as they happened, with the nodes they resolved to. */
  faults: string[];
  trace: string;
}

export function runSeed(seed: number, opts: RunOptions = {}): Promise<SeedResult> {
  const scenario = drawScenario(seed, defaultConfig(opts.nodes ?? 3), opts.choice ?? DEFAULT_CHOICE);
  return runScenario(scenario, opts);
}

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<SeedResult> {
  const c = s.config;
  const f = s.features;
  const cluster = new SimCluster(new SimRandom(s.seed), {
    nodes: c.nodes,
    tickMs: c.tickMs,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    minSync: s.minSync,
    maxSync: s.maxSync,
    compactEvery: s.compactEvery,
    compactKeep: s.compactKeep,
    snapshotBytes: f.snapshotBytes,
    network: s.network,
    trace: opts.trace,
    factory: opts.factory,
    host: opts.host ?? s.host,
    loseDiskOnCrash: opts.loseDiskOnCrash,
    preVote: opts.preVote,
    checkQuorum: opts.checkQuorum,
    store: f.store,
    drift: f.drift,
    lag: f.lag,
    payloadBytes: f.payloadBytes,
    maxInflight: f.load?.maxInflight,
    maxEntriesPerMsg: f.load?.maxEntriesPerMsg,
  });
  const faults = new FaultPlayer(cluster, s);
  faults.scheduleAll();
  new SimClient(cluster, { seed: s.seed, proposalGap: c.proposalGap, until: c.healAt, features: f }).start();
  const lease = new LeaseWatch(cluster);
  lease.start();
  const run = new Runner(cluster, f.reads !== null);

  await run.until(c.healAt);
  faults.healAll();
  const healAt = cluster.now;
  const leaderAt = await run.untilTrue(() => cluster.agreedLeader() !== 0, healAt + c.leaderBound, c.tickMs);
  if (leaderAt < 0) {
    cluster.checker.fail('liveness', `no agreed leader within ${c.leaderBound} ms of healing`);
  }
  const target = maxAckedIndex(cluster);
  const appliedAt = await run.untilTrue(
    () => cluster.agreedLeader() !== 0 && cluster.minApplied() >= target,
    healAt + c.appliedBound,
    c.tickMs,
  );
  if (appliedAt < 0) {
    const lagging = cluster
      .memberIds()
      .filter((id) => !cluster.failed.has(id) && cluster.checker.appliedOf(id).index < target)
      .map((id) => `n${id}`);
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
    reads: cluster.reads.stats,
    failed: [...cluster.failed].map(([id, why]) => `n${id}: ${why}`),
    schedule: describeScenario(s),
    flags: choiceFlags(opts.choice ?? DEFAULT_CHOICE),
    faults: faults.log,
    trace: cluster.traceLines.join('\n'),
  };
}

/** Runs the cluster's events, letting read promises settle between them when reads are on. */
class Runner {
  constructor(
    private readonly cluster: SimCluster,
    private readonly reads: boolean,
  ) {}

  async until(t: number): Promise<void> {
    const c = this.cluster;
    if (!this.reads) {
      c.runUntil(t);
      return;
    }
    for (;;) {
      if (c.readsInFlight() === 0) {
        // Nothing can settle: run in-line until a read goes out to a driver.
        let stepped = false;
        while (c.readsInFlight() === 0 && (stepped = c.queue.step(t))) {
          /* one event per step */
        }
        if (!stepped) break;
      } else if (!c.queue.step(t)) {
        break;
      }
      // The driver resolved (or will) a read promise in that event: let its callback run now.
      await null;
    }
    c.queue.advanceTo(t);
    await null;
  }

  /** Run until `done()` holds (tested every `everyMs`) or `limit`; the time it first held, or -1. */
  async untilTrue(done: () => boolean, limit: number, everyMs: number): Promise<number> {
    const c = this.cluster;
    let next = c.now;
    while (next <= limit) {
      await this.until(next);
      if (done()) return c.now;
      next += everyMs;
    }
    await this.until(limit);
    return -1;
  }
}

function maxAckedIndex(cluster: SimCluster): number {
  let max = 0;
  for (const a of cluster.acks) if (a.index > max) max = a.index;
  return max;
}
