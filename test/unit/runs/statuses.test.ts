import { describe, it, expect } from 'vitest';
import {
  JOB_STATUSES,
  RUN_STATUSES,
  STEP_STATUSES,
  EXEC_STATES,
  isTerminalJobStatus,
  isTerminalRunStatus,
  isTerminalState,
  jobStatusToState,
  runOutcome,
  stateToJobStatus,
} from '../../../src/runs/index.js';

describe('persisted statuses', () => {
  it('lists the run, job and step enums', () => {
    expect(RUN_STATUSES).toEqual(['pending', 'running', 'success', 'failed', 'cancelled', 'cancelling', 'held']);
    expect(JOB_STATUSES).toHaveLength(11);
    expect(JOB_STATUSES).toContain('timed_out_stale');
    expect(JOB_STATUSES).toContain('drift_dropped');
    expect([...STEP_STATUSES].sort()).toEqual(['cancelled', 'failed', 'pending', 'running', 'skipped', 'success']);
  });

  it('knows which statuses are terminal', () => {
    expect(JOB_STATUSES.filter(isTerminalJobStatus)).toEqual([
      'success',
      'failed',
      'cancelled',
      'skipped',
      'timed_out_stale',
      'drift_dropped',
    ]);
    expect(RUN_STATUSES.filter(isTerminalRunStatus)).toEqual(['success', 'failed', 'cancelled']);
  });

  it('maps job statuses to machine states and back, keeping terminality', () => {
    expect(jobStatusToState('timed_out_stale')).toBe('failed');
    expect(jobStatusToState('drift_dropped')).toBe('failed');
    for (const status of JOB_STATUSES) {
      expect(isTerminalState(jobStatusToState(status))).toBe(isTerminalJobStatus(status));
    }
    expect(stateToJobStatus('held')).toBe('pending');
    expect(stateToJobStatus('waiting')).toBe('pending');
    for (const state of EXEC_STATES) {
      expect(isTerminalJobStatus(stateToJobStatus(state))).toBe(isTerminalState(state));
    }
  });
});

describe('runOutcome', () => {
  it.each([
    [['success', 'success'], 'success'],
    [['success', 'skipped'], 'success'],
    [['skipped'], 'success'],
    [[], 'success'],
    [['success', 'cancelled'], 'cancelled'],
    [['cancelled', 'failed'], 'failed'],
    [['skipped', 'timed_out_stale'], 'failed'],
    [['drift_dropped', 'success'], 'failed'],
    [['cancelled', 'skipped', 'success'], 'cancelled'],
  ] as const)('%j → %s', (statuses, outcome) => {
    expect(runOutcome(statuses)).toBe(outcome);
  });
});
