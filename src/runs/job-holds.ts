/**
 * A RunActor's side of holds: a job a trust or reviewers gate stopped (the machine's `held` state)
 * waits for people, and the actor, the only writer of its run, records what they decide.
 *
 *   HOLD     the gate says hold: the `held_runs` row and the job's gate are written together
 *   vote     a reviewer's approve is counted (the hold stays pending until every listed reviewer
 *            approved); the last approve is APPROVE: the job goes on through the gates after it
 *   REJECT   the first reject cancels the job
 *   EXPIRE   the coordinator's duty found the hold past its expiry: the job is cancelled
 *   CANCEL   the job ended otherwise (its run was cancelled): the hold closes as `cancelled`
 *
 * Every change of a hold is written in one transaction with the job's own change, so the hold and
 * the job never disagree, and a vote a deposed owner makes never lands (the writes are fenced).
 */
import type { Clock } from '../clock/index.js';
import {
  castVote,
  expiryReason,
  holdExpired,
  rejectionReason,
  remainingReviewers,
  type GateDecision,
  type Hold,
  type HoldGate,
  type HoldVote,
  type NewHold,
  type VoteOutcome,
} from '../environments/index.js';
import { NO_GATE, type JobGate } from './gate-ports.js';
import { ignored, ok, type RunMessage, type RunReply, type VotedHold } from './messages.js';
import type { GateOutcome, HoldChange, JobPatch, JobRecord, RunRecord, RunStore } from './ports.js';
import { transition } from './state-machine.js';
import { jobState } from './statuses.js';

/** What is written with a job's patch: a new hold, or a change to one. */
export type HoldWrite = { hold: NewHold } | { change: HoldChange };

/** What holds need of the RunActor that owns the job. */
export interface HoldHost {
  readonly run: RunRecord;
  readonly clock: Clock;
  readonly jobs: readonly JobRecord[];
  job(jobId: string): JobRecord | undefined;
  save(job: JobRecord, patch: JobPatch, hold: HoldWrite): Promise<void>;
  /** End the held job (REJECT, EXPIRE) with its hold's change in the same write. */
  end(job: JobRecord, event: 'REJECT' | 'EXPIRE', error: string, change: HoldChange): Promise<void>;
  /** The hold was approved: on through the gates after it. */
  proceed(job: JobRecord): Promise<void>;
  report(job: JobRecord, outcome: GateOutcome): void;
}

type HoldDecision = Extract<GateDecision, { verdict: 'hold' }>;
type VoteMessage = Extract<RunMessage, { type: 'hold_vote' }>;

export function isHoldGate(waiting: JobGate['waiting'] | undefined): waiting is HoldGate {
  return waiting === 'trust' || waiting === 'reviewers';
}

export class JobHolds {
  constructor(
    private readonly host: HoldHost,
    private readonly store: Pick<RunStore, 'holdJob' | 'holdsOfRun' | 'changeHold'>,
  ) {}

  /** Whether this node's store keeps holds; without them a held job fails (see `holdError`). */
  get available(): boolean {
    return this.store.holdJob !== undefined && this.store.holdsOfRun !== undefined && this.store.changeHold !== undefined;
  }

  /** pending --HOLD--> held: the hold's row and the job's gate, in one write. */
  async hold(job: JobRecord, decision: HoldDecision): Promise<void> {
    transition(jobState(job), 'HOLD');
    const hold: NewHold = {
      orgId: this.host.run.orgId ?? 'default',
      runId: job.runId,
      jobId: job.id,
      environmentId: decision.environmentId,
      gate: decision.gate,
      reviewers: decision.gate === 'reviewers' ? decision.reviewers : [],
      reason: decision.reason,
      createdAt: this.host.clock.now(),
      expiresAt: decision.expiresAt,
    };
    await this.host.save(job, { gate: { ...(job.gate ?? NO_GATE), waiting: decision.gate, reason: decision.reason }, needsSatisfied: true }, { hold });
  }

  /** A reviewer's vote on the holds it names; all or nothing per request (see `HoldVoteReply`). */
  async vote(msg: VoteMessage): Promise<RunReply> {
    const targets = await this.targets(msg.job);
    if ('refused' in targets) return targets.refused;
    const vote: HoldVote = { reviewer: msg.reviewer, tokenId: msg.tokenId ?? null, verdict: msg.verdict, reason: msg.reason, at: this.host.clock.now() };
    const judged = targets.holds.map((hold) => ({ hold, outcome: castVote(hold, vote, { listedOnly: msg.viewer === true }) }));
    const counted = msg.job === undefined ? judged.filter((j) => !(j.outcome.kind === 'refused' && j.outcome.code === 'not-listed')) : judged;
    const refusal = (counted.length > 0 ? counted : judged).find((j) => j.outcome.kind === 'refused')?.outcome;
    if (refusal?.kind === 'refused') return { ok: false, ignored: refusal.message, refused: 'conflict' };
    const holds: VotedHold[] = [];
    for (const { hold, outcome } of counted) if (outcome.kind !== 'refused') holds.push(await this.apply(hold, outcome));
    return { ok: true, holds };
  }

  /** The coordinator's duty: the hold is past its expiry. EXPIRE, exactly once (the hold must still be pending). */
  async expire(jobId: string, holdId: string): Promise<RunReply> {
    const job = this.host.job(jobId);
    if (!job || jobState(job) !== 'held') return ignored('the job is not held');
    const hold = (await this.holdsOf(job)).find((h) => h.id === holdId && h.status === 'pending');
    if (!hold) return ignored('the hold is no longer pending');
    const now = this.host.clock.now();
    if (!holdExpired(hold, now)) return ignored('the hold has not expired');
    await this.host.end(job, 'EXPIRE', expiryReason(hold), { holdId, status: 'expired', at: now });
    this.host.report(job, { kind: 'expired', gate: hold.gate });
    return ok;
  }

  /** A held job ending for another reason (its run was cancelled): its pending hold closes with it. */
  async closing(job: JobRecord): Promise<HoldChange | undefined> {
    if (jobState(job) !== 'held') return undefined;
    const hold = (await this.holdsOf(job)).find((h) => h.status === 'pending');
    return hold ? { holdId: hold.id, status: 'cancelled', at: this.host.clock.now() } : undefined;
  }

  private async apply(hold: Hold, outcome: Exclude<VoteOutcome, { kind: 'refused' }>): Promise<VotedHold> {
    const job = this.host.job(hold.jobId)!;
    const { vote } = outcome;
    const voted = { job: job.name, gate: hold.gate };
    if (outcome.kind === 'rejected') {
      await this.host.end(job, 'REJECT', rejectionReason(vote), { holdId: hold.id, status: 'rejected', vote, at: vote.at });
      this.host.report(job, { kind: 'rejected', gate: hold.gate });
      return { ...voted, status: 'rejected', remaining: [] };
    }
    const gate = job.gate ?? NO_GATE;
    if (outcome.kind === 'counted') {
      const reason = `${hold.reason}; approved by ${approvers(hold, vote).join(', ')}, waiting for ${outcome.remaining.join(', ')}`;
      await this.host.save(job, { gate: { ...gate, reason } }, { change: { holdId: hold.id, status: 'pending', vote, at: vote.at } });
      return { ...voted, status: 'pending', remaining: outcome.remaining };
    }
    transition(jobState(job), 'APPROVE');
    const passed = [...new Set([...gate.passed, hold.gate])];
    await this.host.save(job, { gate: { ...gate, waiting: null, reason: null, passed } }, { change: { holdId: hold.id, status: 'approved', vote, at: vote.at } });
    await this.host.proceed(job);
    return { ...voted, status: 'approved', remaining: [] };
  }

  /** The pending holds of the held jobs a vote names; refused when none match. */
  private async targets(jobName: string | undefined): Promise<{ holds: Hold[] } | { refused: RunReply }> {
    const named = jobName === undefined ? this.host.jobs : this.host.jobs.filter((j) => j.name === jobName || j.baseName === jobName);
    if (jobName !== undefined && named.length === 0) {
      const names = this.host.jobs.map((j) => j.name).join(', ') || 'none';
      return { refused: { ok: false, ignored: `run ${this.host.run.id} has no job "${jobName}" (its jobs: ${names})`, refused: 'not-found' } };
    }
    const held = new Set(named.filter((j) => jobState(j) === 'held').map((j) => j.id));
    const holds = held.size === 0 ? [] : (await this.store.holdsOfRun!(this.host.run.id)).filter((h) => h.status === 'pending' && held.has(h.jobId));
    if (holds.length > 0) return { holds };
    const what = jobName === undefined ? `run ${this.host.run.id} has` : `job "${jobName}" of run ${this.host.run.id} has`;
    return { refused: { ok: false, ignored: `${what} no pending hold`, refused: 'not-found' } };
  }

  private async holdsOf(job: JobRecord): Promise<Hold[]> {
    return (await this.store.holdsOfRun?.(job.runId))?.filter((h) => h.jobId === job.id) ?? [];
  }
}

/** Who has approved, counting `vote`, in the order the hold lists them. */
function approvers(hold: Hold, vote: HoldVote): string[] {
  const waiting = new Set(remainingReviewers(hold, vote));
  return hold.reviewers.filter((r) => !waiting.has(r));
}
