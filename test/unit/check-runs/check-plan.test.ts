/**
 * The pure part of the check-runs room: what checks are called, which conclusion a job or run
 * comes to, where a check stands, and how it moves.
 */
import { describe, expect, it } from 'vitest';
import {
  jobCheckName,
  jobConclusion,
  jobExternalId,
  jobPhase,
  nextMove,
  runConclusion,
  runPhase,
  stepsAsEnded,
  stepsNeedingLogs,
  workflowCheckName,
  workflowExternalId,
  type CheckPhase,
} from '../../../src/check-runs/check-plan.js';
import { JOB_STATUSES, RUN_STATUSES, type JobStatus, type StepStatus } from '../../../src/runs/index.js';

const steps = (...statuses: StepStatus[]) => statuses.map((status, stepIndex) => ({ stepIndex, status, name: `s${stepIndex}` }));

describe('names and external ids', () => {
  it('names the workflow check and one check per job record (matrix children by their own name)', () => {
    const run = { id: 'r1', workflowName: 'ci' };
    expect(workflowCheckName(run)).toBe('kici/ci');
    expect(jobCheckName(run, { name: 'build' })).toBe('kici/ci/job/build');
    expect(jobCheckName(run, { name: 'test (20, linux)' })).toBe('kici/ci/job/test (20, linux)');
  });

  it('ties each check to its run and job by id, so a rerun\'s checks (new ids, same names) are told apart', () => {
    expect(workflowExternalId({ id: 'r1' })).toBe('r1');
    expect(jobExternalId({ id: 'r1' }, { id: 'j7' })).toBe('r1/j7');
    expect(jobExternalId({ id: 'r2' }, { id: 'j9' })).not.toBe(jobExternalId({ id: 'r1' }, { id: 'j7' }));
  });
});

describe('conclusions', () => {
  it('maps every finished job status to a GitHub conclusion, and none while unfinished', () => {
    const mapped = Object.fromEntries(JOB_STATUSES.map((s) => [s, jobConclusion(s) ?? null]));
    expect(mapped).toEqual({
      pending: null,
      queued: null,
      running: null,
      recovering: null,
      cancelling: null,
      success: 'success',
      failed: 'failure',
      cancelled: 'cancelled',
      skipped: 'skipped',
      timed_out_stale: 'timed_out',
      drift_dropped: 'failure',
    });
  });

  it('maps the finished run statuses', () => {
    const mapped = Object.fromEntries(RUN_STATUSES.map((s) => [s, runConclusion(s) ?? null]));
    expect(mapped).toEqual({ pending: null, running: null, held: null, cancelling: null, success: 'success', failed: 'failure', cancelled: 'cancelled' });
  });
});

describe('phases', () => {
  it('a job is queued until it or a step runs, and completed when it ends', () => {
    expect(jobPhase({ status: 'pending' }, steps('pending'))).toBe('queued');
    expect(jobPhase({ status: 'queued' }, steps('pending', 'pending'))).toBe('queued');
    // A step report can arrive before the job's own start report.
    expect(jobPhase({ status: 'queued' }, steps('running'))).toBe('in_progress');
    expect(jobPhase({ status: 'running' }, steps('pending'))).toBe('in_progress');
    expect(jobPhase({ status: 'recovering' }, [])).toBe('in_progress');
    expect(jobPhase({ status: 'cancelling' }, [])).toBe('in_progress');
    for (const status of ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'] as JobStatus[]) {
      expect(jobPhase({ status }, steps('running'))).toBe('completed');
    }
  });

  it('a run is in progress once any job is, and completed only when it ends', () => {
    expect(runPhase({ status: 'running' }, [{ status: 'pending' }, { status: 'queued' }])).toBe('queued');
    expect(runPhase({ status: 'running' }, [{ status: 'pending' }, { status: 'running' }])).toBe('in_progress');
    expect(runPhase({ status: 'running' }, [{ status: 'success' }, { status: 'success' }])).toBe('in_progress');
    expect(runPhase({ status: 'failed' }, [{ status: 'failed' }])).toBe('completed');
  });

  it('moves: create or start at once, batch further progress, complete once, then nothing', () => {
    const table: [CheckPhase, Exclude<CheckPhase, 'none'>, string][] = [
      ['none', 'queued', 'now'],
      ['none', 'in_progress', 'now'],
      ['none', 'completed', 'final'],
      ['queued', 'queued', 'none'],
      ['queued', 'in_progress', 'now'],
      ['queued', 'completed', 'final'],
      ['in_progress', 'in_progress', 'debounce'],
      ['in_progress', 'queued', 'debounce'],
      ['in_progress', 'completed', 'final'],
      ['completed', 'in_progress', 'none'],
      ['completed', 'completed', 'none'],
    ];
    for (const [sent, wanted, move] of table) expect(`${sent}→${wanted}: ${nextMove(sent, wanted)}`).toBe(`${sent}→${wanted}: ${move}`);
  });
});

describe('steps of a finished job', () => {
  it('shows the steps as the job\'s end leaves them (its end is reported before its steps are ended)', () => {
    expect(stepsAsEnded({ status: 'failed' }, steps('success', 'running', 'pending')).map((s) => s.status)).toEqual(['success', 'failed', 'skipped']);
    expect(stepsAsEnded({ status: 'cancelled' }, steps('running')).map((s) => s.status)).toEqual(['cancelled']);
    expect(stepsAsEnded({ status: 'timed_out_stale' }, steps('running')).map((s) => s.status)).toEqual(['failed']);
    expect(stepsAsEnded({ status: 'running' }, steps('running', 'pending')).map((s) => s.status)).toEqual(['running', 'pending']);
  });

  it('reads the log lines of the failed steps, or of the last step that ran when the job was lost', () => {
    expect(stepsNeedingLogs({ status: 'failed' }, steps('success', 'failed', 'skipped')).map((s) => s.stepIndex)).toEqual([1]);
    expect(stepsNeedingLogs({ status: 'timed_out_stale' }, steps('success', 'running', 'pending')).map((s) => s.stepIndex)).toEqual([1]);
    expect(stepsNeedingLogs({ status: 'drift_dropped' }, steps('success', 'success')).map((s) => s.stepIndex)).toEqual([1]);
    expect(stepsNeedingLogs({ status: 'failed' }, steps('failed', 'failed', 'failed', 'failed')).map((s) => s.stepIndex)).toEqual([0, 1, 2]);
    expect(stepsNeedingLogs({ status: 'success' }, steps('success'))).toEqual([]);
    expect(stepsNeedingLogs({ status: 'cancelled' }, steps('success', 'running'))).toEqual([]);
    expect(stepsNeedingLogs({ status: 'running' }, steps('failed'))).toEqual([]);
  });
});
