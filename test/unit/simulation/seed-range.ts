/**
 * One slice of the seeds `npm test` runs through the cluster simulation (four files, so that the
 * two test workers share them). Every seed must keep to the invariants, apart from the known
 * findings (src/simulation/findings.ts), which are counted and printed, never hidden: a violation
 * of any other kind fails with its seed and replay command.
 */
import { expect, it } from 'vitest';
import { formatFailure, formatSummary, onlyKnown, runClusterBatch } from '../../../src/simulation/index.js';

export const SEEDS_PER_SLICE = 125;

export function seedSlice(slice: number): void {
  const from = 1 + (slice - 1) * SEEDS_PER_SLICE;
  it(`seeds ${from}-${from + SEEDS_PER_SLICE - 1}: no violation beyond the known findings`, async () => {
    const unexpected: string[] = [];
    const summary = await runClusterBatch({
      from,
      count: SEEDS_PER_SLICE,
      onResult: (r) => {
        if (!onlyKnown(r)) unexpected.push(formatFailure(r));
      },
    });
    console.log(`cluster simulation, ${formatSummary(summary)}`);
    expect(unexpected).toEqual([]);
    expect(summary.seeds).toBe(SEEDS_PER_SLICE);
    // The seeds do work: runs, jobs on agents across nodes, faults.
    expect(summary.executions).toBeGreaterThan(SEEDS_PER_SLICE * 10);
  }, 300_000);
}
