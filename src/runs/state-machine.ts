/**
 * The execution state machine: a pure function from (state, event) to the next state. Every change
 * of a job's state goes through `transition`, so an impossible change (anything leaving a terminal
 * state, for one) is an error instead of a silently corrupted run.
 */

export const EXEC_STATES = [
  'pending',
  'queued',
  'running',
  'recovering',
  'cancelling',
  'held',
  'waiting',
  'success',
  'failed',
  'cancelled',
  'skipped',
] as const;
export type ExecState = (typeof EXEC_STATES)[number];

export const EXEC_EVENTS = [
  'ENQUEUE',
  'START',
  'SUCCEED',
  'FAIL',
  'CANCEL',
  'CANCEL_GRACEFUL',
  'CANCEL_FORCE',
  'COMPLETE',
  'SKIP',
  'RECOVER',
  'HOLD',
  'APPROVE',
  'REJECT',
  'EXPIRE',
  'WAIT',
  'TIMER_DONE',
] as const;
export type ExecEvent = (typeof EXEC_EVENTS)[number];

export const TERMINAL_STATES: ReadonlySet<ExecState> = new Set(['success', 'failed', 'cancelled', 'skipped']);

/**
 * KiCI's 25 edges plus two of kici's own (recovering --ENQUEUE--> queued, pending --FAIL--> failed
 * for a job an environment gate rejects); a state missing from an
 * inner map has no edge for that event.
 */
export const TRANSITIONS: Readonly<Record<ExecState, Readonly<Partial<Record<ExecEvent, ExecState>>>>> = {
  // FAIL is kici's: an environment protection gate rejected the job before it was queued.
  pending: { ENQUEUE: 'queued', FAIL: 'failed', CANCEL: 'cancelled', SKIP: 'skipped', HOLD: 'held', WAIT: 'waiting' },
  held: { APPROVE: 'queued', REJECT: 'cancelled', EXPIRE: 'cancelled', CANCEL: 'cancelled' },
  waiting: { TIMER_DONE: 'queued', CANCEL: 'cancelled' },
  queued: { START: 'running', FAIL: 'failed', CANCEL: 'cancelled' },
  running: {
    SUCCEED: 'success',
    FAIL: 'failed',
    CANCEL: 'cancelled',
    CANCEL_GRACEFUL: 'cancelling',
    RECOVER: 'recovering',
  },
  cancelling: { CANCEL_FORCE: 'cancelled', COMPLETE: 'cancelled', FAIL: 'failed' },
  // ENQUEUE is kici's: a job whose agent came back without it is dispatched again.
  recovering: { START: 'running', FAIL: 'failed', CANCEL: 'cancelled', ENQUEUE: 'queued' },
  success: {},
  failed: {},
  cancelled: {},
  skipped: {},
};

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: ExecState,
    readonly event: ExecEvent,
  ) {
    super(`invalid transition: ${event} from ${from}`);
    this.name = 'InvalidTransitionError';
  }
}

export function transition(state: ExecState, event: ExecEvent): ExecState {
  const next = TRANSITIONS[state]?.[event];
  if (next === undefined) throw new InvalidTransitionError(state, event);
  return next;
}

export function canTransition(state: ExecState, event: ExecEvent): boolean {
  return TRANSITIONS[state]?.[event] !== undefined;
}

export function isTerminalState(state: ExecState): boolean {
  return TERMINAL_STATES.has(state);
}
