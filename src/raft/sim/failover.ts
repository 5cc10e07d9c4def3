/**
 * Leader failover measured in the simulator: kill the leader over and over and time, from the
 * kill, the first new leader and that leader's first commit (its no-op entry, the end of the
 * write outage). Used by bench/raft-failover.ts.
 */
import type { NodeId } from '../types.js';
import { SimCluster } from './cluster.js';
import type { TimerLag } from './clock.js';
import type { CoreFactory } from './core.js';
import type { NetworkParams } from './network.js';
import { SimRandom } from './random.js';

export interface FailoverSetting {
  name: string;
  nodes: number;
  /** Virtual ms per tick. */
  tickMs: number;
  heartbeatTick: number;
  electionTick: number;
  /** Election timeout randomisation range in ticks above electionTick: [0, spread]. Default: electionTick - 1 (the core's own [e, 2e)). */
  spreadTicks?: number;
  network: NetworkParams;
  /** Default on, as in production; the paper's Raft had no pre-vote. */
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Server clocks: rates spread over (1 + drift)^±½, timers late by `lag` (default: exact). */
  drift?: number;
  lag?: TimerLag;
  trials: number;
  seed: number;
  factory?: CoreFactory;
}

export interface FailoverFigures {
  setting: FailoverSetting;
  /** Virtual ms from the kill to the first new leader, one per trial. */
  toLeader: number[];
  /** Virtual ms from the kill to that leader's first commit. */
  toCommit: number[];
  /** Trials where no new leader came within the limit. */
  failures: number;
  safetyViolations: number;
}

/** Give up on one trial after this much virtual time. */
const TRIAL_LIMIT_MS = 60_000;

export function measureFailover(setting: FailoverSetting): FailoverFigures {
  const e = setting.electionTick;
  const spread = setting.spreadTicks ?? e - 1;
  // The core draws its timeout as e + floor(u * e); squeezing u gives the range [e, e + spread].
  const shapeRandom = spread >= e - 1 ? undefined : (u: number) => (u * (spread + 1)) / e;
  const rng = new SimRandom(setting.seed);
  const cluster = new SimCluster(rng, {
    nodes: setting.nodes,
    tickMs: setting.tickMs,
    electionTick: e,
    heartbeatTick: setting.heartbeatTick,
    minSync: 0.05,
    maxSync: 0.5,
    compactEvery: 0,
    compactKeep: 0,
    shapeRandom,
    preVote: setting.preVote,
    checkQuorum: setting.checkQuorum,
    network: setting.network,
    factory: setting.factory,
    drift: setting.drift,
    lag: setting.lag,
  });
  const killRng = rng.fork('kills');
  const heartbeatMs = setting.heartbeatTick * setting.tickMs;
  let killedTerm = Infinity;
  let newLeaderAt = -1;
  let newLeader: NodeId = 0;
  let commitAt = -1;
  cluster.listener = {
    becameLeader: (node, term, at) => {
      if (term > killedTerm && newLeaderAt < 0) {
        newLeaderAt = at;
        newLeader = node;
      }
    },
    leaderCommitted: (node, term, _index, at) => {
      if (node === newLeader && term > killedTerm && commitAt < 0) commitAt = at;
    },
  };
  const out: FailoverFigures = { setting, toLeader: [], toCommit: [], failures: 0, safetyViolations: 0 };
  const settled = (): boolean => cluster.agreedLeader() !== 0 && cluster.minApplied() >= leaderCommit(cluster);
  for (let trial = 0; trial < setting.trials; trial++) {
    if (cluster.runUntilTrue(settled, cluster.now + TRIAL_LIMIT_MS, setting.tickMs) < 0) {
      out.failures++;
      continue;
    }
    // As in the Raft paper: the leader dies at a uniformly random point of its heartbeat interval.
    cluster.runUntil(cluster.now + killRng.between(0, heartbeatMs));
    const leader = cluster.leader();
    if (leader === 0) continue;
    killedTerm = cluster.host(leader).status()?.term ?? 0;
    newLeaderAt = -1;
    newLeader = 0;
    commitAt = -1;
    const killedAt = cluster.now;
    cluster.crash(leader);
    const done = cluster.runUntilTrue(() => commitAt >= 0, killedAt + TRIAL_LIMIT_MS, 1);
    if (done < 0) out.failures++;
    else {
      out.toLeader.push(newLeaderAt - killedAt);
      out.toCommit.push(commitAt - killedAt);
    }
    cluster.restart(leader);
  }
  out.safetyViolations = cluster.checker.violations.length;
  return out;
}

function leaderCommit(cluster: SimCluster): number {
  const l = cluster.leader();
  return l === 0 ? Infinity : (cluster.host(l).status()?.commit ?? Infinity);
}

/** Nearest-rank percentile of an unsorted list (q in [0, 1]). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}
