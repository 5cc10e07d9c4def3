/**
 * Many seeds of the cluster simulation, one after another, and what a reader needs of them: each
 * failing seed with its scenario, its violations (a known finding named as such) and the command
 * that replays it, then one summary line.
 */
import { runClusterSeed, type ClusterRunOptions, type ClusterSeedResult } from './cluster-run.js';
import { findingOf } from './findings.js';

export interface ClusterBatchOptions {
  from: number;
  count: number;
  run?: ClusterRunOptions;
  /** The flags a replay needs besides the seed (e.g. `--lossy`). */
  flags?: string[];
  onResult?(result: ClusterSeedResult): void;
}

export interface ClusterBatchSummary {
  seeds: number;
  /** Seeds with any violation, and those whose violations are all known findings. */
  failing: number[];
  knownOnly: number[];
  /** Violations by kind, over every seed. */
  kinds: Record<string, number>;
  notes: Record<string, number>;
  events: number;
  virtualMs: number;
  executions: number;
  runs: number;
  /** Runs in a workflow `concurrency` group. */
  grouped: number;
}

export async function runClusterBatch(o: ClusterBatchOptions): Promise<ClusterBatchSummary> {
  const summary: ClusterBatchSummary = { seeds: 0, failing: [], knownOnly: [], kinds: {}, notes: {}, events: 0, virtualMs: 0, executions: 0, runs: 0, grouped: 0 };
  for (let seed = o.from; seed < o.from + o.count; seed++) {
    const r = await runClusterSeed(seed, o.run);
    summary.seeds++;
    summary.events += r.events;
    summary.virtualMs += r.virtualMs;
    summary.executions += r.executions;
    summary.runs += r.runs.planned;
    summary.grouped += r.runs.grouped;
    for (const v of r.violations) summary.kinds[v.kind] = (summary.kinds[v.kind] ?? 0) + 1;
    for (const n of r.notes) summary.notes[n.kind] = (summary.notes[n.kind] ?? 0) + 1;
    if (!r.ok) {
      summary.failing.push(seed);
      if (onlyKnown(r)) summary.knownOnly.push(seed);
    }
    o.onResult?.(r);
  }
  return summary;
}

/** Every violation of the seed is a known finding (findings.ts). */
export function onlyKnown(r: ClusterSeedResult): boolean {
  return r.violations.every((v) => findingOf(v.kind) !== undefined);
}

export function replayCommand(seed: number, flags: readonly string[] = []): string {
  return ['npm run sim -- --layer cluster --seed', String(seed), ...flags].join(' ');
}

export function formatFailure(r: ClusterSeedResult, flags: readonly string[] = []): string {
  const lines = [`FAIL ${r.schedule}`, `  ${r.violationCount} violation${r.violationCount === 1 ? '' : 's'} (digest ${r.digest}):`];
  for (const v of r.violations) {
    const known = findingOf(v.kind);
    lines.push(`  [invariant ${v.invariant}, ${v.kind}${known ? `, known finding ${known.id}` : ''}] at ${v.at.toFixed(1)} ms: ${v.text}`);
  }
  if (r.violationCount > r.violations.length) lines.push(`  … and ${r.violationCount - r.violations.length} more`);
  lines.push(`  replay: ${replayCommand(r.seed, flags)} --verbose`);
  return lines.join('\n');
}

export function formatSummary(s: ClusterBatchSummary): string {
  const kinds = Object.entries(s.kinds)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${n}${findingOf(k) ? ` (${findingOf(k)!.id})` : ''}`);
  const notes = Object.entries(s.notes).map(([k, n]) => `${k} ${n}`);
  return (
    `seeds run: ${s.seeds}, seeds with violations: ${s.failing.length} (${s.knownOnly.length} with known findings only), ` +
    `violations: ${kinds.length ? kinds.join(', ') : 'none'}; notes: ${notes.length ? notes.join(', ') : 'none'}; ` +
    `${s.runs} runs (${s.grouped} in concurrency groups), ${s.executions} job executions, ${s.events} events, ${Math.round(s.virtualMs / 1000)} s virtual`
  );
}
