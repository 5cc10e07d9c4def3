import { describe, it, expect } from 'vitest';
import { RerunRefusedError, planRerun, type JobStatus, type NeedsEdge } from '../../../src/runs/index.js';

const e = (jobId: string, upstreamJobId: string): NeedsEdge => ({ jobId, upstreamJobId, runOn: ['success'] });

describe('planRerun', () => {
  // build → test (a), test (b) → deploy ; lint alone
  const edges = [e('test (a)', 'build'), e('test (b)', 'build'), e('deploy', 'test (a)'), e('deploy', 'test (b)')];
  const jobs = (statuses: Record<string, JobStatus>) => Object.entries(statuses).map(([id, status]) => ({ id, status }));

  it('reruns everything by default', () => {
    const finished = jobs({ build: 'success', lint: 'success', 'test (a)': 'failed', 'test (b)': 'success', deploy: 'skipped' });
    const plan = planRerun(finished, edges);
    expect(plan).toEqual({ rerun: ['build', 'lint', 'test (a)', 'test (b)', 'deploy'], carry: [] });
  });

  it('with --failed-only reruns the failures and everything downstream, carrying the rest', () => {
    const plan = planRerun(
      jobs({ build: 'success', lint: 'success', 'test (a)': 'failed', 'test (b)': 'success', deploy: 'skipped' }),
      edges,
      { failedOnly: true },
    );
    expect(plan).toEqual({ rerun: ['test (a)', 'deploy'], carry: ['build', 'lint', 'test (b)'] });
  });

  it('reruns cancelled and stale jobs too, and whatever hangs below them', () => {
    const plan = planRerun(
      jobs({ build: 'timed_out_stale', lint: 'cancelled', 'test (a)': 'skipped', 'test (b)': 'skipped', deploy: 'skipped' }),
      edges,
      { failedOnly: true },
    );
    expect(plan.carry).toEqual([]);
    expect(plan.rerun).toHaveLength(5);
  });

  it('refuses a run that is still going, or a --failed-only rerun of a run with nothing failed', () => {
    expect(() => planRerun(jobs({ build: 'running' }), [])).toThrow(RerunRefusedError);
    expect(() => planRerun(jobs({ build: 'success' }), [], { failedOnly: true })).toThrow(/nothing to rerun/);
  });
});
