/**
 * Holds: a job a gate stopped for people to decide on (`held_runs`), and the rule that decides it.
 * Pure: who may vote, when a hold is approved, rejected or still open.
 *
 *   reviewers  every listed reviewer (an admin token's name) must approve; the first reject rejects
 *   trust      no list: any admin's single approve or reject decides it (a security review)
 *
 * A vote on a hold that is no longer pending, a second vote by the same name, and a vote by a name
 * the hold does not list are refused and change nothing. A hold that nobody decided by
 * `expiresAt` expires (its job is cancelled); a hold whose job ended otherwise (its run was
 * cancelled, timed out) is `cancelled`: it no longer waits for anyone.
 */

/**
 * `held_runs.status`. The seed's four, and `cancelled` (kici's): the job ended without a decision,
 * so the hold neither counts as pending nor blocks deleting its environment.
 */
export const HOLD_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

/** The gates that hold a job (KiCI's `security` and `reviewer` hold types). */
export type HoldGate = 'trust' | 'reviewers';

export const VERDICTS = ['approve', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One reviewer's decision (`held_run_approvals`). */
export interface HoldVote {
  reviewer: string;
  /** The admin token that voted (names can be reused after a revoke): the audit row keeps it. */
  tokenId?: string | null;
  verdict: Verdict;
  reason: string | null;
  /** ms since the epoch */
  at: number;
}

/** A hold to put on a job: its `held_runs` row as created, `pending`. */
export interface NewHold {
  orgId: string;
  runId: string;
  jobId: string;
  /** The first environment that asks for the hold (null once that environment is deleted). */
  environmentId: string | null;
  gate: HoldGate;
  /** The names that must all approve; empty: any admin decides. */
  reviewers: string[];
  /** Why the job is held, as `runs show` prints it. */
  reason: string;
  /** ms: when the gate held the job, on the same clock as `expiresAt`. */
  createdAt: number;
  expiresAt: number;
}

export interface Hold extends NewHold {
  id: string;
  status: HoldStatus;
  decidedAt: number | null;
  /** The reviewer whose vote decided it (null while pending, and for an expired or cancelled hold). */
  decidedBy: string | null;
  /** Every vote so far, oldest first. */
  votes: HoldVote[];
}

/** How a vote leaves the hold; `refused` changes nothing. */
export type VoteOutcome =
  | { kind: 'refused'; code: 'not-pending' | 'not-listed' | 'voted'; message: string }
  /** Recorded; the hold waits for the reviewers in `remaining`. */
  | { kind: 'counted'; vote: HoldVote; remaining: string[] }
  | { kind: 'approved'; vote: HoldVote }
  | { kind: 'rejected'; vote: HoldVote };

/**
 * What `reviewer`'s vote does to `hold`. A viewer (`listedOnly`) votes only where the hold names it:
 * a trust hold, which names nobody, is an admin's to decide.
 */
export function castVote(hold: Hold, vote: HoldVote, voter: { listedOnly?: boolean } = {}): VoteOutcome {
  if (hold.status !== 'pending') return refused('not-pending', `the hold on this job is already ${hold.status}`);
  if (voter.listedOnly && hold.reviewers.length === 0) {
    return refused('not-listed', `'${vote.reviewer}' is a viewer: a hold that names no reviewer is decided by an admin`);
  }
  if (hold.reviewers.length > 0 && !hold.reviewers.includes(vote.reviewer)) {
    return refused('not-listed', `'${vote.reviewer}' is not a reviewer of this hold (reviewers: ${hold.reviewers.join(', ')})`);
  }
  const earlier = hold.votes.find((v) => v.reviewer === vote.reviewer);
  if (earlier) return refused('voted', `'${vote.reviewer}' already ${earlier.verdict === 'approve' ? 'approved' : 'rejected'} this hold`);
  if (vote.verdict === 'reject') return { kind: 'rejected', vote };
  const remaining = remainingReviewers(hold, vote);
  return remaining.length === 0 ? { kind: 'approved', vote } : { kind: 'counted', vote, remaining };
}

/** Listed reviewers who have not approved yet, counting `vote`. */
export function remainingReviewers(hold: Pick<Hold, 'reviewers' | 'votes'>, vote?: HoldVote): string[] {
  const approved = new Set([...hold.votes, ...(vote ? [vote] : [])].filter((v) => v.verdict === 'approve').map((v) => v.reviewer));
  return hold.reviewers.filter((r) => !approved.has(r));
}

/** Is the hold past its expiry at `now`? */
export function holdExpired(hold: Pick<Hold, 'status' | 'expiresAt'>, now: number): boolean {
  return hold.status === 'pending' && now >= hold.expiresAt;
}

/** The job's error when its hold expired. */
export function expiryReason(hold: Pick<Hold, 'gate' | 'expiresAt' | 'createdAt'>): string {
  const seconds = Math.round((hold.expiresAt - hold.createdAt) / 1000);
  const what = hold.gate === 'reviewers' ? 'review' : 'security review';
  return `cancelled: the hold for ${what} expired after ${seconds} s without a decision`;
}

/** The job's error when a reviewer rejected its hold. */
export function rejectionReason(vote: HoldVote): string {
  return `cancelled: rejected by '${vote.reviewer}'${vote.reason ? `: ${vote.reason}` : ''}`;
}

function refused(code: 'not-pending' | 'not-listed' | 'voted', message: string): VoteOutcome {
  return { kind: 'refused', code, message };
}
