import { describe, it, expect } from 'vitest';
import {
  EXEC_EVENTS,
  EXEC_STATES,
  InvalidTransitionError,
  TERMINAL_STATES,
  TRANSITIONS,
  canTransition,
  isTerminalState,
  transition,
  type ExecEvent,
  type ExecState,
} from '../../../src/runs/index.js';

/** execution.md §3, written out independently of the implementation's table. */
const EXPECTED: [ExecState, ExecEvent, ExecState][] = [
  ['pending', 'ENQUEUE', 'queued'],
  ['pending', 'CANCEL', 'cancelled'],
  ['pending', 'SKIP', 'skipped'],
  ['pending', 'HOLD', 'held'],
  ['pending', 'WAIT', 'waiting'],
  ['held', 'APPROVE', 'queued'],
  ['held', 'REJECT', 'cancelled'],
  ['held', 'EXPIRE', 'cancelled'],
  ['held', 'CANCEL', 'cancelled'],
  ['waiting', 'TIMER_DONE', 'queued'],
  ['waiting', 'CANCEL', 'cancelled'],
  ['queued', 'START', 'running'],
  ['queued', 'FAIL', 'failed'],
  ['queued', 'CANCEL', 'cancelled'],
  ['running', 'SUCCEED', 'success'],
  ['running', 'FAIL', 'failed'],
  ['running', 'CANCEL', 'cancelled'],
  ['running', 'CANCEL_GRACEFUL', 'cancelling'],
  ['running', 'RECOVER', 'recovering'],
  ['cancelling', 'CANCEL_FORCE', 'cancelled'],
  ['cancelling', 'COMPLETE', 'cancelled'],
  ['cancelling', 'FAIL', 'failed'],
  ['recovering', 'START', 'running'],
  ['recovering', 'FAIL', 'failed'],
  ['recovering', 'CANCEL', 'cancelled'],
  // kici's one addition: a job whose agent came back without it is dispatched again.
  ['recovering', 'ENQUEUE', 'queued'],
  // and a job an environment protection gate rejects fails before it is queued.
  ['pending', 'FAIL', 'failed'],
];

describe('execution state machine', () => {
  it('has 11 states, 16 events and exactly 27 transitions (KiCI\'s 25 and two of kici\'s)', () => {
    expect(EXEC_STATES).toHaveLength(11);
    expect(EXEC_EVENTS).toHaveLength(16);
    const count = Object.values(TRANSITIONS).reduce((n, edges) => n + Object.keys(edges).length, 0);
    expect(count).toBe(27);
    expect(EXPECTED).toHaveLength(27);
  });

  it.each(EXPECTED)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
    expect(canTransition(from, event)).toBe(true);
  });

  it('throws InvalidTransitionError for every pair that is not an edge', () => {
    const valid = new Set(EXPECTED.map(([f, e]) => `${f}/${e}`));
    let invalid = 0;
    for (const state of EXEC_STATES) {
      for (const event of EXEC_EVENTS) {
        if (valid.has(`${state}/${event}`)) continue;
        invalid++;
        expect(() => transition(state, event)).toThrow(InvalidTransitionError);
        expect(canTransition(state, event)).toBe(false);
      }
    }
    expect(invalid).toBe(11 * 16 - 27);
  });

  it('names the state and event in the error', () => {
    try {
      transition('queued', 'SUCCEED');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect((error as InvalidTransitionError).from).toBe('queued');
      expect((error as InvalidTransitionError).event).toBe('SUCCEED');
      expect((error as Error).message).toContain('SUCCEED from queued');
    }
  });

  it('gives terminal states no outgoing edges at all', () => {
    expect([...TERMINAL_STATES].sort()).toEqual(['cancelled', 'failed', 'skipped', 'success']);
    for (const state of TERMINAL_STATES) {
      expect(isTerminalState(state)).toBe(true);
      for (const event of EXEC_EVENTS) expect(() => transition(state, event)).toThrow(InvalidTransitionError);
    }
    for (const state of ['pending', 'queued', 'running', 'recovering', 'cancelling', 'held', 'waiting'] as const) {
      expect(isTerminalState(state)).toBe(false);
    }
  });
});
