/**
 * A reviewer's vote on a run's holds, from the admin API: asked of the run's actor (wherever its
 * shard lives), which decides it and writes it, and answered as what became of it.
 */
import type { ActorSystem } from '../actors/index.js';
import type { Verdict } from '../environments/index.js';
import type { RunReply, VotedHold } from './messages.js';
import { runRef } from './run-actor.js';

/** How long a reviewer's vote waits for the run's actor to answer. */
export const HOLD_VOTE_ASK_MS = 10_000;

export interface HoldVoteRequest {
  /** The voter: the name of the admin token that made the request. */
  reviewer: string;
  /** That token's id, kept in the audit row. */
  tokenId?: string;
  /** A viewer's token: it may vote only on holds that name it. */
  viewer?: boolean;
  verdict: Verdict;
  reason: string | null;
  /** A job's name (or its lock-file name: all its matrix children); absent: every hold the reviewer may vote on. */
  job?: string;
}

/**
 * What became of a vote. `refused` changed nothing (`not-found`: no pending hold matches, or no
 * such run; `conflict`: not a listed reviewer, voted already). `unanswered`: the run's actor did not
 * answer in time or was moving to another node; the vote may or may not have been counted, and
 * asking again is safe (a second vote by the same name is refused, not counted twice).
 */
export type HoldVoteResult =
  | { outcome: 'decided'; holds: VotedHold[] }
  | { outcome: 'refused'; code: 'not-found' | 'conflict'; message: string }
  | { outcome: 'unanswered'; message: string };

/** A reviewer's approve or reject, asked of the run's actor wherever it lives: the only writer of its run. */
export async function voteOnHoldVia(system: ActorSystem, runId: string, request: HoldVoteRequest): Promise<HoldVoteResult> {
  let reply: RunReply;
  try {
    reply = await runRef(system, runId).ask<RunReply>({ type: 'hold_vote', ...request }, HOLD_VOTE_ASK_MS);
  } catch {
    return { outcome: 'unanswered', message: `the run did not answer within ${HOLD_VOTE_ASK_MS / 1000} s; the vote may still be counted: look at the run, then vote again if it was not` };
  }
  if (reply.ok) return { outcome: 'decided', holds: reply.holds ?? [] };
  if (reply.moved) return { outcome: 'unanswered', message: 'the run is moving to another node; vote again' };
  return { outcome: 'refused', code: reply.refused ?? 'not-found', message: reply.ignored };
}
