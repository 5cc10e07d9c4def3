/**
 * Runs a range of seeds and sums them up: the engine behind the CLI and the 500-seed test.
 */
import { performance } from 'node:perf_hooks';
import { runSeed, type SeedResult } from './run.js';
import type { CoreFactory } from './core.js';
import type { FeatureChoice } from './features.js';

export interface BatchOptions {
  from: number;
  count: number;
  nodes: 3 | 5;
  factory?: CoreFactory;
  choice?: FeatureChoice;
  /** Called for each seed that broke something. */
  onFailure?: (r: SeedResult) => void;
}

export interface BatchSummary {
  seeds: number;
  violations: number;
  failedSeeds: number[];
  seedsPerMinute: number;
  /** Worst virtual ms from healing to an agreed leader over the seeds that found one. */
  worstTimeToLeader: number;
  worstTimeToApplied: number;
  worstTermGrowth: number;
  /** Clean partition episodes whose term growth was checked, over all seeds. */
  termEpisodes: number;
  worstLeaseOverlap: number;
  /** Reads answered and checked, lease reads among them; servers down for good (disk faults). */
  readsChecked: number;
  leaseReads: number;
  failedServers: number;
  elapsedMs: number;
}

export async function runBatch(opts: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const failed: number[] = [];
  let violations = 0;
  let worstLeader = 0;
  let worstApplied = 0;
  let worstGrowth = 0;
  let worstLease = 0;
  let termEpisodes = 0;
  let readsChecked = 0;
  let leaseReads = 0;
  let failedServers = 0;
  for (let seed = opts.from; seed < opts.from + opts.count; seed++) {
    const r = await runSeed(seed, { nodes: opts.nodes, factory: opts.factory, choice: opts.choice });
    if (r.violations.length > 0) {
      violations += r.violations.length;
      failed.push(seed);
      opts.onFailure?.(r);
    }
    worstLeader = Math.max(worstLeader, r.timeToLeader);
    worstApplied = Math.max(worstApplied, r.timeToApplied);
    worstGrowth = Math.max(worstGrowth, r.worstTermGrowth);
    worstLease = Math.max(worstLease, r.worstLeaseOverlap);
    termEpisodes += r.termEpisodes;
    readsChecked += r.reads.answered;
    leaseReads += r.reads.byKind.lease;
    failedServers += r.failed.length;
  }
  const elapsedMs = performance.now() - started;
  return {
    seeds: opts.count,
    violations,
    failedSeeds: failed,
    seedsPerMinute: elapsedMs > 0 ? (opts.count * 60_000) / elapsedMs : 0,
    worstTimeToLeader: worstLeader,
    worstTimeToApplied: worstApplied,
    worstTermGrowth: worstGrowth,
    worstLeaseOverlap: worstLease,
    termEpisodes,
    readsChecked,
    leaseReads,
    failedServers,
    elapsedMs,
  };
}

/** A failing seed as a person reads it: the seed, the schedule, what happened, what broke. */
export function formatFailure(r: SeedResult): string {
  const lines = [`FAIL seed ${r.seed} (${r.nodes} nodes): ${r.violations.length} violation(s)`];
  for (const v of r.violations) lines.push(`  at ${(v.at / 1000).toFixed(3)}s  ${v.property}: ${v.detail}`);
  for (const f of r.failed) lines.push(`  down for good: ${f}`);
  lines.push(r.schedule);
  lines.push('faults as played:');
  for (const f of r.faults) lines.push(`  ${f}`);
  lines.push(`replay: npm run sim -- --seed ${r.seed} --nodes ${r.nodes}${r.flags ? ` ${r.flags}` : ''} --trace`);
  return lines.join('\n');
}

export function formatSummary(s: BatchSummary): string {
  return (
    `seeds run: ${s.seeds}, violations: ${s.violations}, seeds per minute: ${Math.round(s.seedsPerMinute)}, ` +
    `worst time to leader: ${Math.round(s.worstTimeToLeader)} ms (virtual, after healing); ` +
    `worst term growth ${s.worstTermGrowth} over ${s.termEpisodes} clean partition episodes, ` +
    `worst deposed-leader lease ${Math.round(s.worstLeaseOverlap)} ms; ` +
    `${s.readsChecked} reads checked (${s.leaseReads} lease), ${s.failedServers} servers down for good after disk faults`
  );
}
