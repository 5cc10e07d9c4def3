/**
 * Simulated leader failover: kill the leader 1000 times (3 and 5 nodes, heartbeat 50 ms,
 * election timeout 500–1000 ms) and report p50/p99/max virtual time from the kill to a new leader
 * and to that leader's first commit; then the Raft paper's setting (5 nodes, timeouts 150–155 ms,
 * where the paper measured a 287 ms median downtime) beside it. Virtual time: the figures depend
 * only on the protocol, the timeouts and the modelled network, not on this machine's speed.
 */
import { pathToFileURL } from 'node:url';
import { measureFailover, percentile, type FailoverFigures, type FailoverSetting } from '../src/raft/sim/index.js';

const TRIALS = 1000;

/** A LAN/loopback-like network: 0.2–2 ms one way, nothing lost. */
const LAN = { minDelay: 0.2, maxDelay: 2, drop: 0, duplicate: 0, reorder: 0 };
/** Event-loop lag: 0.5 ms on average, one timer in 500 after a stall of up to 200 ms. */
const LATE = { mean: 0.5, spikeChance: 0.002, spikeMax: 200 };
/** The paper's cluster had a broadcast time of about 15 ms: 5–10 ms one way. */
const PAPER_NET = { minDelay: 5, maxDelay: 10, drop: 0, duplicate: 0, reorder: 0 };

export const FAILOVER_SETTINGS: readonly FailoverSetting[] = [
  { name: 'kici: hb 50 ms, election 500–1000 ms', nodes: 3, tickMs: 50, heartbeatTick: 1, electionTick: 10, network: LAN, trials: TRIALS, seed: 3 },
  { name: 'kici: hb 50 ms, election 500–1000 ms', nodes: 5, tickMs: 50, heartbeatTick: 1, electionTick: 10, network: LAN, trials: TRIALS, seed: 5 },
  // The same on servers as a deployment has them: clocks up to 10 % apart, timers a little late.
  { name: 'kici, clocks ±4.9 %, timers late', nodes: 3, tickMs: 50, heartbeatTick: 1, electionTick: 10, network: LAN, drift: 0.1, lag: LATE, trials: TRIALS, seed: 7 },
  // Paper §9.3: heartbeat = half the minimum timeout, leader crashed at a random point of it.
  {
    name: 'Raft paper: hb 75 ms, election 150–155 ms',
    nodes: 5,
    tickMs: 1,
    heartbeatTick: 75,
    electionTick: 150,
    spreadTicks: 5,
    network: PAPER_NET,
    trials: TRIALS,
    seed: 287,
  },
  // The paper's Raft had neither pre-vote nor check-quorum: the same setting without them.
  {
    name: 'Raft paper, plain (no pre-vote/check-quorum)',
    nodes: 5,
    tickMs: 1,
    heartbeatTick: 75,
    electionTick: 150,
    spreadTicks: 5,
    preVote: false,
    checkQuorum: false,
    network: PAPER_NET,
    trials: TRIALS,
    seed: 288,
  },
];

export async function runRaftFailoverBench(): Promise<string> {
  const rows: FailoverFigures[] = [];
  for (const s of FAILOVER_SETTINGS) {
    rows.push(measureFailover(s));
    // Let other work (and the event loop) breathe between settings.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return formatFailover(rows);
}

export function formatFailover(rows: readonly FailoverFigures[]): string {
  const ms = (v: number): string => (Number.isNaN(v) ? '-' : `${Math.round(v)}`);
  const trio = (vals: number[]): string =>
    `${ms(percentile(vals, 0.5))} / ${ms(percentile(vals, 0.99))} / ${ms(Math.max(...vals))}`.padEnd(20);
  const lines = [
    'Raft leader failover (deterministic simulator, virtual ms from leader kill)',
    `${'setting'.padEnd(46)} ${'nodes'.padEnd(6)} ${'kills'.padEnd(6)} ${'new leader p50/p99/max'.padEnd(24)} ${'first commit p50/p99/max'.padEnd(26)} notes`,
  ];
  for (const r of rows) {
    const notes: string[] = [];
    if (r.failures > 0) notes.push(`${r.failures} trials without a new leader`);
    if (r.safetyViolations > 0) notes.push(`${r.safetyViolations} SAFETY VIOLATIONS`);
    if (r.setting.name.startsWith('Raft paper')) notes.push('paper: 287 ms median downtime');
    lines.push(
      `${r.setting.name.padEnd(46)} ${String(r.setting.nodes).padEnd(6)} ${String(r.toLeader.length).padEnd(6)} ` +
        `${trio(r.toLeader).padEnd(24)} ${trio(r.toCommit).padEnd(26)} ${notes.join('; ')}`,
    );
  }
  lines.push('network: kici rows 0.2–2 ms one way; paper row 5–10 ms one way (≈15 ms broadcast time, as in the paper)');
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runRaftFailoverBench().then((text) => process.stdout.write(`${text}\n`));
}
