import { describe, expect, it } from 'vitest';
import { checkEnvironmentLimits, type GatedJobs } from '../../../chaos/invariants/environment-limits.js';
import type { Journal, JournalEntry } from '../../../chaos/journal-reader.js';
import { at, executed } from './fixtures.js';

const journal = (...entries: JournalEntry[][]): Journal => ({ entries: entries.flat(), problems: [], found: true });
const GATED: GatedJobs = { deploy: { group: 'production', limit: 1 } };

/** One deploy job of its own run on `agent`, from `from` to `to` seconds (no `to`: killed). */
const deploy = (run: string, agent: string, from: number, to?: number) =>
  executed({ execution: `${run}-deploy-${agent}-${from}`, runId: run, jobId: `${run}-deploy`, jobName: 'deploy', agent, start: at(from), ...(to !== undefined && { end: at(to) }) });

describe('invariant 4: an environment concurrency limit is never exceeded', () => {
  it('holds when the deploys of many runs follow one another, other jobs running alongside', () => {
    const report = checkEnvironmentLimits(
      journal(deploy('run-1', 'agent-a', 0, 1), deploy('run-2', 'agent-b', 1, 2), deploy('run-3', 'agent-a', 2.5, 3), executed({ execution: 'b', jobName: 'build', agent: 'agent-c', start: at(0), end: at(3) })),
      GATED,
    );
    expect(report).toMatchObject({ invariant: 4, verdict: 'held', evidence: [] });
    expect(report.notes[0]).toContain('3 executions of deploy in 1 group(s)');
  });

  it('is broken by two deploys under way at once, naming both and dated when the second began', () => {
    const report = checkEnvironmentLimits(journal(deploy('run-1', 'agent-a', 0, 5), deploy('run-2', 'agent-b', 3, 4)), GATED);
    expect(report.verdict).toBe('broken');
    expect(report.evidence).toEqual([expect.stringMatching(/^group 'production' \(limit 1\) had 2 jobs under way at .*: deploy of run run-1 on agent-a .*; deploy of run run-2 on agent-b/)]);
    expect(report.firstViolationAtMs).toBe(Math.floor(at(3) / 1000));
  });

  it('counts a killed deploy until its agent died, and no longer', () => {
    const killedThenNext = journal(deploy('run-1', 'agent-a', 0), deploy('run-2', 'agent-b', 2, 3));
    // agent-a was killed at 1 s: its deploy was over before the next began.
    expect(checkEnvironmentLimits(killedThenNext, GATED, { 'agent-a': [at(1)] }).verdict).toBe('held');
    // Killed at 2.5 s: it was still under way when run-2's began.
    expect(checkEnvironmentLimits(killedThenNext, GATED, { 'agent-a': [at(2.5)] }).verdict).toBe('broken');
    // No death known: only the instant of its start counts (nothing the journal proves overlapped).
    expect(checkEnvironmentLimits(killedThenNext, GATED).verdict).toBe('held');
  });

  it('counts one job\'s copies once (a copy lost with its agent, then the job again elsewhere)', () => {
    const report = checkEnvironmentLimits(
      journal(
        executed({ execution: 'c1', runId: 'run-1', jobId: 'run-1-deploy', jobName: 'deploy', agent: 'agent-a', start: at(0) }),
        executed({ execution: 'c2', runId: 'run-1', jobId: 'run-1-deploy', jobName: 'deploy', agent: 'agent-b', attempt: 2, start: at(2), end: at(3) }),
      ),
      GATED,
      { 'agent-a': [at(2.5)] },
    );
    expect(report.verdict).toBe('held');
  });

  it('is not exercised without gated jobs, or when none of them ran', () => {
    expect(checkEnvironmentLimits(journal(deploy('run-1', 'agent-a', 0, 1)), {}).verdict).toBe('not exercised');
    const none = checkEnvironmentLimits(journal(executed({ execution: 'b', jobName: 'build', agent: 'agent-a', start: at(0), end: at(1) })), GATED);
    expect(none.verdict).toBe('not exercised');
    expect(none.notes[0]).toContain('no job of a limited environment (deploy) ran');
  });
});
