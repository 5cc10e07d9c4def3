/**
 * Invariant 5: a hold is decided once — approved, rejected or expired, never two of these. Judged
 * from the `held_runs` rows and their counted votes as the run ended them, the jobs they held, the
 * journal (did the held job run?), what the API answered the harness's reviewer, and the statuses
 * the reviewer saw each hold go through while it polled.
 *
 * A hold decided twice leaves traces in each: a final status its votes do not support (approved
 * without every listed reviewer's approve, or with a reject counted; rejected without its decider's
 * reject), a vote counted after the hold was closed, a closed hold whose job ran anyway (expired,
 * rejected or cancelled, yet the journal shows the job executing) or whose job was cancelled for
 * the other decision (approved, yet its job's error says rejected or expired), an API answer that
 * said approved or rejected while the row ends otherwise, a status seen decided and later changed,
 * and two holds for one job and gate. A hold left pending once its run ended (or long after it
 * expired) was never decided at all.
 */
import { groupBy } from '../grouping.js';
import type { HeldJobView, HoldRowStatus, HoldsView, HoldView, HoldVoteView } from '../database-view.js';
import type { Journal } from '../journal-reader.js';
import { brokenAt, invariantReport, notExercised, type InvariantReport } from '../report.js';
import { pairExecutions } from '../step-executions.js';

/** What the API answered one vote (an HTTP status; 0: no answer — network error or timeout). */
export interface VoteAnswer {
  holdId: string;
  runId: string;
  job: string;
  verdict: 'approve' | 'reject';
  /** The coordinator asked. */
  node: string;
  /** 1 for the first ask of this vote, then one more per retry. */
  attempt: number;
  /** When the answer came (epoch ms). */
  atMs: number;
  status: number;
  /** A refusal's error code (`no_pending_hold`, `hold_conflict`, `run_unavailable`), or the network error. */
  code?: string;
  /** A 200's holds: what the vote did to each. */
  holds?: { job: string; gate: string; status: string; remaining?: string[] }[];
}

/** A hold's status as the reviewer saw it while polling: one entry per change it saw. */
export interface HoldSighting {
  holdId: string;
  status: HoldRowStatus;
  atMs: number;
}

export interface HoldsInput {
  /** The holds as the run left them (one view, at the end). */
  view: HoldsView;
  journal: Journal;
  /** Every answer the reviewer got. */
  answers?: readonly VoteAnswer[];
  /** Every change of status the reviewer saw, in the order it saw them. */
  sightings?: readonly HoldSighting[];
}

/** A hold still pending this long past its expiry was missed by the expiry duty (it scans every 10 s). */
export const EXPIRY_GRACE_MS = 30_000;
const TERMINAL_RUN: ReadonlySet<string> = new Set(['success', 'failed', 'cancelled']);
const DECIDED: ReadonlySet<string> = new Set(['approved', 'rejected', 'expired', 'cancelled']);
/** The job errors a reject and an expiry end a held job with (src/environments/holds.ts). */
const CANCELLED_BY_HOLD = /^cancelled: (rejected by |the hold for .* expired)/;

export function checkHoldsDecidedOnce(input: HoldsInput): InvariantReport {
  const { view } = input;
  const answers = input.answers ?? [];
  const sightings = input.sightings ?? [];
  if (view.holds.length === 0) {
    return notExercised(5, `no job was held for review: no hold existed to decide${answers.length ? ` (${answers.length} answers to votes recorded nonetheless)` : ''}`);
  }
  const votes = groupBy(view.votes, (v) => v.holdId);
  const jobs = new Map(view.jobs.map((j) => [j.id, j]));
  const ran = groupBy(pairExecutions(input.journal.entries).executions, (e) => e.jobId);
  const evidence: string[] = [];
  const times: number[] = [];
  const flag = (line: string, at?: Date | number | null) => {
    evidence.push(line);
    if (at !== undefined && at !== null) times.push(typeof at === 'number' ? at : at.getTime());
  };

  for (const hold of view.holds) {
    const executions = ran.get(hold.jobId) ?? [];
    judgeHold(hold, votes.get(hold.id) ?? [], jobs.get(hold.jobId), executions.length > 0 ? Math.floor(executions[0]!.startedAt / 1000) : undefined, view.takenAt, flag);
  }
  for (const [, same] of groupBy(view.holds, (h) => `${h.jobId}/${h.gate}`)) {
    if (same.length > 1) flag(`job "${same[0]!.jobName}" of run ${same[0]!.runId} has ${same.length} holds for gate ${same[0]!.gate}: ${same.map((h) => `${h.id} ${h.status}`).join(', ')}`, same[1]!.createdAt);
  }
  checkAnswers(view.holds, answers, flag);
  checkSightings(view.holds, sightings, flag);

  return brokenAt(invariantReport(5, evidence, notes(view, answers, sightings)), times);
}

type Flag = (line: string, at?: Date | number | null) => void;

function judgeHold(hold: HoldView, votes: readonly HoldVoteView[], job: HeldJobView | undefined, ranAtMs: number | undefined, takenAt: Date, flag: Flag): void {
  const what = `hold ${hold.id} (${hold.gate}) on job "${hold.jobName}" of run ${hold.runId}`;
  const listed = hold.gate === 'reviewers' ? hold.requiredReviewers : [];
  const approvers = new Set(votes.filter((v) => v.decision === 'approve').map((v) => v.reviewer));
  const rejecters = votes.filter((v) => v.decision === 'reject').map((v) => v.reviewer);
  const allApproved = listed.length > 0 ? listed.every((r) => approvers.has(r)) : approvers.size > 0;
  const ranLine = ranAtMs === undefined ? '' : `the journal shows the job executing from ${new Date(ranAtMs).toISOString()}`;
  const jobLine = job ? `its job ended ${job.status}${job.error ? ` (${job.error})` : ''}` : 'its job is gone';

  for (const v of votes) {
    if (listed.length > 0 && !listed.includes(v.reviewer)) flag(`${what}: a vote by '${v.reviewer}', who is not one of its reviewers (${listed.join(', ')}), was counted`, v.at);
    if (hold.decidedAt && v.at.getTime() > hold.decidedAt.getTime()) {
      flag(`${what}: '${v.reviewer}''s ${v.decision} was counted at ${v.at.toISOString()}, after the hold was closed ${hold.status} at ${hold.decidedAt.toISOString()}`, v.at);
    }
  }

  switch (hold.status) {
    case 'pending': {
      if (job && TERMINAL_RUN.has(job.runStatus)) flag(`${what} is still pending, though its run ended ${job.runStatus} (${jobLine})`, takenAt);
      else if (takenAt.getTime() - hold.expiresAt.getTime() > EXPIRY_GRACE_MS) {
        flag(`${what} is still pending at ${takenAt.toISOString()}, ${Math.round((takenAt.getTime() - hold.expiresAt.getTime()) / 1000)} s after it expired at ${hold.expiresAt.toISOString()}: never decided`, hold.expiresAt);
      }
      if (rejecters.length > 0) flag(`${what} is still pending, though ${rejecters.join(', ')}'s reject was counted (the first reject decides)`, takenAt);
      else if (allApproved) flag(`${what} is still pending, though every listed reviewer approved`, takenAt);
      if (ranAtMs !== undefined) flag(`${what} is still pending, yet ${ranLine}`, ranAtMs);
      return;
    }
    case 'approved': {
      const at = hold.decidedAt;
      if (listed.length > 0) {
        const missing = listed.filter((r) => !approvers.has(r));
        if (missing.length > 0) flag(`${what} is approved without the approval of ${missing.join(', ')} (approvals counted: ${[...approvers].join(', ') || 'none'})`, at);
      } else if (approvers.size === 0) {
        flag(`${what} is approved without any approve vote counted`, at);
      }
      if (rejecters.length > 0) flag(`${what} is approved, though ${rejecters.join(', ')}'s reject was counted too`, at);
      if (!hold.decidedBy || !approvers.has(hold.decidedBy)) flag(`${what} is approved, decided by ${hold.decidedBy ? `'${hold.decidedBy}'` : 'nobody'}, who has no approve vote counted`, at);
      if (job?.status === 'cancelled' && job.error && CANCELLED_BY_HOLD.test(job.error)) flag(`${what} is approved, yet ${jobLine}: it was decided the other way too`, at);
      return;
    }
    case 'rejected': {
      const at = hold.decidedAt;
      if (!hold.decidedBy || !rejecters.includes(hold.decidedBy)) {
        flag(`${what} is rejected, decided by ${hold.decidedBy ? `'${hold.decidedBy}'` : 'nobody'}, without a reject vote of theirs counted (rejects: ${rejecters.join(', ') || 'none'})`, at);
      }
      if (listed.length > 0 && allApproved) flag(`${what} is rejected, though every listed reviewer's approval was counted`, at);
      closedButRan(what, 'rejected', ranLine, ranAtMs, job, jobLine, flag);
      return;
    }
    case 'expired':
    case 'cancelled': {
      const at = hold.decidedAt;
      if (hold.decidedBy) flag(`${what} is ${hold.status}, yet names '${hold.decidedBy}' as its decider`, at);
      if (rejecters.length > 0) flag(`${what} is ${hold.status}, though ${rejecters.join(', ')}'s reject was counted (it was rejected first)`, at);
      else if (allApproved) flag(`${what} is ${hold.status}, though every listed reviewer's approval was counted (it was approved first)`, at);
      if (hold.status === 'expired' && hold.decidedAt && hold.decidedAt.getTime() < hold.expiresAt.getTime()) {
        flag(`${what} expired at ${hold.decidedAt.toISOString()}, before its expiry ${hold.expiresAt.toISOString()}`, at);
      }
      closedButRan(what, hold.status, ranLine, ranAtMs, job, jobLine, flag);
      return;
    }
  }
}

/** A hold closed against its job (rejected, expired, cancelled): the job must not have run, nor end as if it had. */
function closedButRan(what: string, status: string, ranLine: string, ranAtMs: number | undefined, job: HeldJobView | undefined, jobLine: string, flag: Flag): void {
  if (ranAtMs !== undefined) flag(`${what} is ${status}, yet ${ranLine}`, ranAtMs);
  else if (job && (job.status === 'success' || job.status === 'running' || job.status === 'queued' || job.status === 'recovering')) flag(`${what} is ${status}, yet ${jobLine}`);
}

/** Every 200 that said a hold became approved or rejected must match how the hold ends. */
function checkAnswers(holds: readonly HoldView[], answers: readonly VoteAnswer[], flag: Flag): void {
  const byJob = new Map(holds.map((h) => [`${h.runId}/${h.jobName}/${h.gate}`, h]));
  for (const a of answers) {
    if (a.status !== 200) continue;
    for (const said of a.holds ?? []) {
      if (said.status !== 'approved' && said.status !== 'rejected') continue;
      const hold = byJob.get(`${a.runId}/${said.job}/${said.gate}`);
      const answer = `${a.node} answered ${a.verdict} of job "${said.job}" of run ${a.runId} (ask ${a.attempt}) at ${new Date(a.atMs).toISOString()} with 200: ${said.gate} hold ${said.status}`;
      if (!hold) flag(`${answer}, but the database has no such hold`, a.atMs);
      else if (hold.status !== said.status) flag(`${answer}, but hold ${hold.id} ends ${hold.status}${hold.decidedBy ? ` by '${hold.decidedBy}'` : ''}${hold.decidedAt ? ` at ${hold.decidedAt.toISOString()}` : ''}`, a.atMs);
    }
  }
}

/** A status the reviewer saw decided never changes afterwards, while it polled or by the end. */
function checkSightings(holds: readonly HoldView[], sightings: readonly HoldSighting[], flag: Flag): void {
  const final = new Map(holds.map((h) => [h.id, h]));
  for (const [holdId, seen] of groupBy(sightings, (s) => s.holdId)) {
    const ordered = [...seen].sort((a, b) => a.atMs - b.atMs);
    const decided = ordered.find((s) => DECIDED.has(s.status));
    if (!decided) continue;
    const hold = final.get(holdId);
    const what = `hold ${holdId}${hold ? ` on job "${hold.jobName}" of run ${hold.runId}` : ''}`;
    const changed = ordered.find((s) => s.atMs >= decided.atMs && s.status !== decided.status);
    if (changed) flag(`${what} was seen ${decided.status} at ${new Date(decided.atMs).toISOString()}, then ${changed.status} at ${new Date(changed.atMs).toISOString()}`, changed.atMs);
    else if (hold && hold.status !== decided.status) flag(`${what} was seen ${decided.status} at ${new Date(decided.atMs).toISOString()}, and ends ${hold.status}`, decided.atMs);
    else if (!hold) flag(`${what} was seen ${decided.status} at ${new Date(decided.atMs).toISOString()}, and is gone at the end`, decided.atMs);
  }
}

function notes(view: HoldsView, answers: readonly VoteAnswer[], sightings: readonly HoldSighting[]): string[] {
  const byStatus = new Map<string, number>();
  for (const h of view.holds) byStatus.set(h.status, (byStatus.get(h.status) ?? 0) + 1);
  const statuses = ['approved', 'rejected', 'expired', 'cancelled', 'pending'].map((s) => `${byStatus.get(s) ?? 0} ${s}`).join(', ');
  const approves = view.votes.filter((v) => v.decision === 'approve').length;
  const lines = [`${view.holds.length} holds: ${statuses}; ${approves} approve and ${view.votes.length - approves} reject votes counted (database, at the end)`];
  if (answers.length > 0) {
    const byCode = new Map<string, number>();
    for (const a of answers) {
      const key = a.status === 0 ? 'no answer' : String(a.status);
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
    }
    const said = answers.flatMap((a) => (a.status === 200 ? (a.holds ?? []).map((h) => h.status) : []));
    lines.push(
      `${answers.length} answers to the reviewer's votes: ${[...byCode].map(([k, n]) => `${n}× ${k}`).join(', ')}; the 200s said ${said.filter((s) => s === 'approved').length} approved, ${said.filter((s) => s === 'rejected').length} rejected, each checked against the hold's end`,
    );
  }
  if (sightings.length > 0) lines.push(`${sightings.length} status changes seen while polling, each decided status checked never to change`);
  return lines;
}
