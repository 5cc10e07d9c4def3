/**
 * What the cluster simulation has found in the real code and is not fixed yet: each finding names
 * the violation kind the checker gives it, why it happens, and a seed that shows it. A batch
 * counts these apart from anything new, and a test replays each witness so that the list is
 * pruned when a fix lands (the witness stops reproducing and the test says so).
 */
import type { Invariant } from './checker.js';

export interface Finding {
  id: string;
  invariant: Invariant;
  /** The checker's violation kind. */
  kind: string;
  title: string;
  /** Why it happens, and where a fix would go. */
  cause: string;
  /** A seed (default scenario shape, ordered links unless `lossy`) that shows it. */
  witness: number;
  /** Shows only on the lossy network (frames dropped, duplicated, reordered on a link that stays up). */
  lossy?: boolean;
}

/**
 * None open. Fixed: F2 and F3 (a dispatch attempt sent to a second agent after its owner crashed,
 * or was fenced off, between sending the frame and recording the agent; witnesses 149, 304 and
 * 458): the agents room now records the chosen agent in the run before the frame or the offer
 * leaves (RecordPlacement), and a queued job is recorded by asking its run first.
 */
export const FINDINGS: readonly Finding[] = [];

/**
 * Observations that break no invariant of DESIGN §7 (the checker's notes). Gone: N1 (a finished
 * job dispatched again when its agent reconnected before its final state was acknowledged, seed
 * 25) was the simulated agent registering without the jobs in its outbox, which the real agent
 * lists (agent/connection.ts); the simulated one does too now.
 */
export const NOTES: readonly Finding[] = [
  {
    id: 'N2',
    invariant: 'R',
    kind: 'late-final-status',
    title: 'a final status that arrives after the stale sweep failed its job is acknowledged and dropped',
    cause:
      'As designed: a partition longer than the stale threshold keeps the job\'s heartbeats from its run, the sweep fails the job, and ' +
      'the agent\'s report, when it comes, finds the job ended. The simulation scales the threshold to 5 s, so it shows within a seed.',
    witness: 95,
  },
];

export function findingOf(kind: string): Finding | undefined {
  return FINDINGS.find((f) => f.kind === kind);
}
