import { describe, expect, it } from 'vitest';
import { checkTerminalRuns } from '../../../chaos/invariants/terminal-runs.js';
import { job, run, T0, view } from './fixtures.js';

const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe('invariant 2: every run reaches a terminal state', () => {
  it('holds when every run and its jobs are finished', () => {
    const report = checkTerminalRuns(
      view({
        runs: [run('run-1'), run('run-2', { status: 'failed' }), run('run-3', { status: 'cancelled' })],
        jobs: [job('job-1', 'run-1'), job('job-2', 'run-2', { status: 'timed_out_stale' }), job('job-3', 'run-3', { status: 'skipped' })],
      }),
    );
    expect(report).toMatchObject({ invariant: 2, held: true, evidence: [] });
  });

  it('is broken by a run left running, naming the run, its status and its unfinished jobs', () => {
    const report = checkTerminalRuns(
      view({
        runs: [run('run-1'), run('run-2', { status: 'running', deliveryId: 'del-2', finishedAt: null })],
        jobs: [job('job-1', 'run-1'), job('job-2', 'run-2', { name: 'build', status: 'running', agentId: 'agent-b', dispatchAttempts: 2 }), job('job-3', 'run-2', { status: 'success' })],
      }),
    );
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([
      expect.stringMatching(/^run run-2 \(workflow "ci", delivery del-2\) is still running at .*; unfinished jobs: job job-2 "build" running on agent-b \(dispatch attempt 2\)$/),
    ]);
  });

  it('is broken by a held or pending run, and by a finished run with a job still queued', () => {
    const report = checkTerminalRuns(
      view({
        runs: [run('run-1', { status: 'held' }), run('run-2', { status: 'pending' }), run('run-3', { status: 'success' })],
        jobs: [job('job-3', 'run-3', { status: 'queued', agentId: null })],
      }),
    );
    expect(report.evidence).toEqual([
      expect.stringMatching(/^run run-1 .* is still held .*no job unfinished$/),
      expect.stringMatching(/^run run-2 .* is still pending /),
      expect.stringMatching(/^run run-3 .* is success but has unfinished jobs: job job-3 "job-3" queued \(/),
    ]);
  });

  it('dates a stuck run at its creation (the earliest stuck run is the first violation), and says so', () => {
    const report = checkTerminalRuns(
      view({ runs: [run('run-1', { status: 'running', createdAt: later(30) }), run('run-2', { status: 'pending', createdAt: later(12) }), run('run-3', { createdAt: later(1) })] }),
    );
    expect(report.firstViolationAtMs).toBe(later(12).getTime());
    expect(report.notes.join('\n')).toContain('dated at its creation');
    expect(checkTerminalRuns(view({ runs: [run('run-3')] })).firstViolationAtMs).toBeUndefined();
  });
});
