/**
 * Where to look first when an invariant broke: the faults under way near its first violation and
 * the leader changes around it, on the run's own time axis (ms after the workload started). A
 * violation seldom happens during its cause: a deposed owner's write or a second execution often
 * lands seconds after the heal, so the window reaches well past each fault.
 */
import type { FaultOutcome, LeaderSample } from './campaign.js';
import { leaderSpans } from './timeline.js';

/** A fault counts as near from this long before it began … */
const BEFORE_FAULT_MS = 5000;
/** … to this long after the cluster was whole again (a fault it never recovered from stays near to the end). */
const AFTER_FAULT_MS = 15_000;
/** Leader changes within this distance of the violation, either side. */
const LEADER_WINDOW_MS = 10_000;

export function eventsAround(atMs: number, faults: readonly FaultOutcome[], leaders: readonly LeaderSample[]): string {
  const near = faults.filter((f) => {
    const over = f.recoveredMs ?? Number.POSITIVE_INFINITY;
    return atMs >= f.startedMs - BEFORE_FAULT_MS && atMs <= over + AFTER_FAULT_MS;
  });
  const faultText = near.length ? near.map(describeFault).join('; ') : `none (no fault within ${BEFORE_FAULT_MS / 1000} s before to ${AFTER_FAULT_MS / 1000} s after)`;
  const changes = leaderSpans(leaders, Number.POSITIVE_INFINITY).changes.filter((c) => Math.abs(c.atMs - atMs) <= LEADER_WINDOW_MS);
  const leaderText = changes.length ? changes.map((c) => `${c.leader} (term ${c.term}) at ${secs(c.atMs)}`).join(', ') : 'none';
  return `first violation at ${secs(atMs)} into the run; faults around it: ${faultText}; leader changes within ${LEADER_WINDOW_MS / 1000} s: ${leaderText}`;
}

function describeFault(f: FaultOutcome): string {
  const healed = f.healedMs === null ? '' : ` to ${secs(f.healedMs)}`;
  const whole = f.recoveredMs === null ? ', never whole again' : `, whole at ${secs(f.recoveredMs)}`;
  return `#${f.id} ${f.kind} ${f.target} from ${secs(f.startedMs)}${healed}${whole}`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
