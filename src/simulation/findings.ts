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

export const FINDINGS: readonly Finding[] = [
  {
    id: 'F2',
    invariant: '3',
    kind: 'stale-epoch-dispatch',
    title: 'the shard\'s next owner sends a dispatch attempt again that the previous owner had already sent to another agent',
    cause:
      'The previous owner sends the dispatch (here a mesh offer whose answer is lost in a partition) and crashes, or has its write ' +
      'recording the chosen agent fenced, before the agent is on record. The shard\'s next owner loads the job queued with no agent and ' +
      'sends the same attempt to another agent; agents refuse stale epochs only per run on one agent, so both run it. (A second path, ' +
      'the old node\'s dispatcher queue placing a lost shard\'s jobs later, is closed by the hub\'s `wanted` check.) Fix: record the ' +
      'chosen agent before the frame leaves, or cancel a dispatch whose recording failed.',
    witness: 149,
  },
  {
    id: 'F3',
    invariant: '3',
    kind: 'same-epoch',
    title: 'the same dispatch attempt is sent again and lands on another agent while the first copy runs',
    cause:
      'The owner sends a dispatch (here through a mesh offer to another node\'s agent) and crashes before it records which agent took ' +
      'it. Restarted, it finds the job queued with no agent and sends the same attempt again ("one request to the dispatcher"), but the ' +
      'dispatcher that placed the first copy is gone or on another node, so the job is placed on a second agent. The lossy network ' +
      'gets there too: when an offer\'s answer comes after the agent\'s ack, the run refuses the ack as foreign and sends the attempt ' +
      'again. Fix: record the chosen agent before the frame leaves (or make the agent side deduplicate a job across agents, e.g. by ' +
      'asking the run before it starts a re-sent attempt).',
    witness: 304,
  },
];

/** Observations that break no invariant of DESIGN §7 (the checker's notes). */
export const NOTES: readonly Finding[] = [
  {
    id: 'N1',
    invariant: 'R',
    kind: 'report-of-other-execution',
    title: 'a finished job runs again when its agent reconnects before its final status is acknowledged',
    cause:
      'An agent reconnecting lists only the jobs it still runs; one whose final status waits in its outbox is missing, so the run takes ' +
      'it as lost with a restarted agent and dispatches it again (a new attempt). The outbox then delivers the first execution\'s status, ' +
      'which ends the new attempt while its copy still runs.',
    witness: 25,
  },
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
