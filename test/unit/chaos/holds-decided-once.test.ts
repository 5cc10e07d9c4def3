import { describe, expect, it } from 'vitest';
import { judgeInvariants } from '../../../chaos/checker.js';
import type { HoldsView } from '../../../chaos/database-view.js';
import { checkHoldsDecidedOnce, type HoldSighting, type VoteAnswer } from '../../../chaos/invariants/holds-decided-once.js';
import type { Journal, JournalEntry } from '../../../chaos/journal-reader.js';
import { at, executed, heldJob, hold, holdsView, T0, view, vote } from './fixtures.js';

const journal = (...entries: JournalEntry[][]): Journal => ({ entries: entries.flat(), problems: [], found: true });
const NO_JOURNAL = journal();
const ms = (seconds: number) => T0.getTime() + seconds * 1000;
const date = (seconds: number) => new Date(ms(seconds));
const REJECTED_ERROR = "cancelled: rejected by 'chaos-reviewer': chaos: reject";
const EXPIRED_ERROR = 'cancelled: the hold for review expired after 3 s without a decision';

/** The release step of `runId` executing from `from` to `from + 0.1` seconds. */
const released = (runId: string, from: number) =>
  executed({ execution: `${runId}-release`, runId, jobId: `${runId}-release`, jobName: 'release', agent: 'agent-a', start: at(from), end: at(from + 0.1) });

const answer = (runId: string, verdict: 'approve' | 'reject', status: number, said?: string, extra: Partial<VoteAnswer> = {}): VoteAnswer => ({
  holdId: `h-${runId}`,
  runId,
  job: 'release',
  verdict,
  node: 'node-1',
  attempt: 1,
  atMs: ms(1),
  status,
  ...(said !== undefined && { holds: [{ job: 'release', gate: 'reviewers', status: said, remaining: [] }] }),
  ...extra,
});

/** Four holds, each closed one way: approved (and run), rejected, expired, cancelled with its run. */
function cleanHistory(): { view: HoldsView; journal: Journal; answers: VoteAnswer[]; sightings: HoldSighting[] } {
  return {
    view: holdsView({
      holds: [
        hold('h-run-1', 'run-1', { status: 'approved', decidedAt: date(1), decidedBy: 'chaos-reviewer' }),
        hold('h-run-2', 'run-2', { status: 'rejected', decidedAt: date(1), decidedBy: 'chaos-reviewer', reason: 'chaos: reject' }),
        hold('h-run-3', 'run-3', { status: 'expired', decidedAt: date(7) }),
        hold('h-run-4', 'run-4', { status: 'cancelled', decidedAt: date(2) }),
      ],
      votes: [vote('h-run-1', 'chaos-reviewer', 'approve', 1), vote('h-run-2', 'chaos-reviewer', 'reject', 1)],
      jobs: [
        heldJob('run-1'),
        heldJob('run-2', { status: 'cancelled', error: REJECTED_ERROR, runStatus: 'cancelled' }),
        heldJob('run-3', { status: 'cancelled', error: EXPIRED_ERROR, runStatus: 'cancelled' }),
        heldJob('run-4', { status: 'cancelled', error: 'cancelled: the run was cancelled', runStatus: 'cancelled' }),
      ],
    }),
    journal: journal(released('run-1', 2), executed({ execution: 'b', runId: 'run-2', jobId: 'run-2-build', jobName: 'build', agent: 'agent-b', start: at(0), end: at(0.3) })),
    answers: [
      answer('run-1', 'approve', 0, undefined, { code: 'timeout' }),
      answer('run-1', 'approve', 200, 'approved', { attempt: 2, node: 'node-2' }),
      answer('run-2', 'reject', 200, 'rejected'),
      // A vote racing the expiry, and losing: nothing pending any more.
      answer('run-3', 'approve', 404, undefined, { atMs: ms(8), code: 'no_pending_hold' }),
    ],
    sightings: [
      { holdId: 'h-run-1', status: 'pending', atMs: ms(0.2) },
      { holdId: 'h-run-1', status: 'approved', atMs: ms(1.2) },
      { holdId: 'h-run-3', status: 'pending', atMs: ms(0.2) },
      { holdId: 'h-run-3', status: 'expired', atMs: ms(7.1) },
    ],
  };
}

describe('invariant 5: a hold is decided once', () => {
  it('holds over holds each closed one way, the votes, answers and sightings agreeing', () => {
    const report = checkHoldsDecidedOnce(cleanHistory());
    expect(report.evidence).toEqual([]);
    expect(report).toMatchObject({ invariant: 5, verdict: 'held' });
    expect(report.notes[0]).toBe('4 holds: 1 approved, 1 rejected, 1 expired, 1 cancelled, 0 pending; 1 approve and 1 reject votes counted (database, at the end)');
    expect(report.notes[1]).toContain('4 answers to the reviewer\'s votes: 1× no answer, 2× 200, 1× 404; the 200s said 1 approved, 1 rejected');
    expect(report.notes[2]).toContain('4 status changes seen while polling');
  });

  it('is not exercised when no job was held', () => {
    const report = checkHoldsDecidedOnce({ view: holdsView(), journal: journal(released('run-1', 1)) });
    expect(report.verdict).toBe('not exercised');
    expect(report.notes[0]).toContain('no job was held for review');
  });

  it('is judged by judgeInvariants only when holds are given', () => {
    const views = [view()];
    expect(judgeInvariants({ journal: NO_JOURNAL, views }).map((r) => r.invariant)).toEqual([1, 2, 3, 6]);
    const { view: holds, answers } = cleanHistory();
    const reports = judgeInvariants({ journal: journal(released('run-1', 2)), views, holds: { view: holds, answers } });
    expect(reports.map((r) => r.invariant)).toEqual([1, 2, 3, 5, 6]);
    expect(reports.find((r) => r.invariant === 5)?.verdict).toBe('held');
  });

  describe('is broken by', () => {
    const broken = (v: HoldsView, extra: { journal?: Journal; answers?: VoteAnswer[]; sightings?: HoldSighting[] } = {}) => {
      const report = checkHoldsDecidedOnce({ view: v, journal: extra.journal ?? NO_JOURNAL, ...(extra.answers && { answers: extra.answers }), ...(extra.sightings && { sightings: extra.sightings }) });
      expect(report.verdict).toBe('broken');
      return report;
    };

    it('a hold still pending once its run ended', () => {
      const report = broken(holdsView({ holds: [hold('h1', 'run-1')], jobs: [heldJob('run-1', { status: 'cancelled', runStatus: 'cancelled' })] }));
      expect(report.evidence).toEqual([expect.stringMatching(/^hold h1 \(reviewers\) on job "release" of run run-1 is still pending, though its run ended cancelled/)]);
    });

    it('a hold still pending long after it expired, and not one just due', () => {
      const stale = broken(holdsView({ holds: [hold('h1', 'run-1')], jobs: [heldJob('run-1', { status: 'pending', runStatus: 'running' })], takenAt: date(60) }));
      expect(stale.evidence[0]).toContain('57 s after it expired');
      const due = checkHoldsDecidedOnce({ view: holdsView({ holds: [hold('h1', 'run-1')], jobs: [heldJob('run-1', { status: 'pending', runStatus: 'running' })], takenAt: date(10) }), journal: NO_JOURNAL });
      expect(due.verdict).toBe('held');
      expect(due.notes[0]).toContain('1 pending');
    });

    it('an approval without every listed reviewer\'s approve', () => {
      const report = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'approved', requiredReviewers: ['alice', 'bob'], decidedAt: date(1), decidedBy: 'alice' })],
          votes: [vote('h1', 'alice', 'approve')],
          jobs: [heldJob('run-1')],
        }),
      );
      expect(report.evidence).toEqual([expect.stringContaining('is approved without the approval of bob (approvals counted: alice)')]);
      expect(report.firstViolationAtMs).toBe(ms(1));
    });

    it('an approval with a reject counted, or decided by someone who did not approve', () => {
      const withReject = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'approved', requiredReviewers: ['alice', 'bob'], decidedAt: date(2), decidedBy: 'bob' })],
          votes: [vote('h1', 'alice', 'reject', 1), vote('h1', 'bob', 'approve', 2)],
          jobs: [heldJob('run-1')],
        }),
      );
      expect(withReject.evidence).toContainEqual(expect.stringContaining("is approved, though alice's reject was counted too"));
      const wrongDecider = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'approved', decidedAt: date(1), decidedBy: 'mallory' })],
          votes: [vote('h1', 'chaos-reviewer', 'approve')],
          jobs: [heldJob('run-1')],
        }),
      );
      expect(wrongDecider.evidence).toEqual([expect.stringContaining("is approved, decided by 'mallory', who has no approve vote counted")]);
    });

    it('a rejection without a reject vote by its decider', () => {
      const report = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'rejected', decidedAt: date(1), decidedBy: 'chaos-reviewer' })],
          votes: [vote('h1', 'chaos-reviewer', 'approve')],
          jobs: [heldJob('run-1', { status: 'cancelled', error: REJECTED_ERROR, runStatus: 'cancelled' })],
        }),
      );
      expect(report.evidence).toContainEqual(expect.stringContaining("is rejected, decided by 'chaos-reviewer', without a reject vote of theirs counted (rejects: none)"));
      // Its one listed reviewer approved: it was approved before it was rejected.
      expect(report.evidence).toContainEqual(expect.stringContaining("is rejected, though every listed reviewer's approval was counted"));
    });

    it('an expired, cancelled or rejected hold whose job the journal shows executing', () => {
      for (const status of ['expired', 'cancelled', 'rejected'] as const) {
        const report = broken(
          holdsView({
            holds: [hold('h1', 'run-1', { status, decidedAt: date(5), ...(status === 'rejected' && { decidedBy: 'chaos-reviewer' }) })],
            votes: status === 'rejected' ? [vote('h1', 'chaos-reviewer', 'reject', 5)] : [],
            jobs: [heldJob('run-1', { status: 'cancelled', error: status === 'expired' ? EXPIRED_ERROR : REJECTED_ERROR, runStatus: 'cancelled' })],
          }),
          { journal: journal(released('run-1', 5.5)) },
        );
        expect(report.evidence).toEqual([expect.stringMatching(new RegExp(`is ${status}, yet the journal shows the job executing from `))]);
        expect(report.firstViolationAtMs).toBe(Math.floor(at(5.5) / 1000));
      }
    });

    it('an expired hold whose job ended success though the journal missed it', () => {
      const report = broken(holdsView({ holds: [hold('h1', 'run-1', { status: 'expired', decidedAt: date(5) })], jobs: [heldJob('run-1')] }));
      expect(report.evidence).toEqual([expect.stringContaining('is expired, yet its job ended success')]);
    });

    it('an expired hold that had been approved or rejected first', () => {
      const approvedFirst = broken(
        holdsView({ holds: [hold('h1', 'run-1', { status: 'expired', decidedAt: date(5) })], votes: [vote('h1', 'chaos-reviewer', 'approve', 4)], jobs: [heldJob('run-1', { status: 'cancelled', error: EXPIRED_ERROR })] }),
      );
      expect(approvedFirst.evidence).toEqual([expect.stringContaining("is expired, though every listed reviewer's approval was counted (it was approved first)")]);
      const rejectedFirst = broken(
        holdsView({ holds: [hold('h1', 'run-1', { status: 'expired', decidedAt: date(5) })], votes: [vote('h1', 'chaos-reviewer', 'reject', 4)], jobs: [heldJob('run-1', { status: 'cancelled', error: EXPIRED_ERROR })] }),
      );
      expect(rejectedFirst.evidence).toEqual([expect.stringContaining("is expired, though chaos-reviewer's reject was counted (it was rejected first)")]);
    });

    it('an approved hold whose job was cancelled by a reject or an expiry', () => {
      for (const error of [REJECTED_ERROR, EXPIRED_ERROR]) {
        const report = broken(
          holdsView({
            holds: [hold('h1', 'run-1', { status: 'approved', decidedAt: date(1), decidedBy: 'chaos-reviewer' })],
            votes: [vote('h1', 'chaos-reviewer', 'approve')],
            jobs: [heldJob('run-1', { status: 'cancelled', error, runStatus: 'cancelled' })],
          }),
        );
        expect(report.evidence).toEqual([expect.stringContaining(`is approved, yet its job ended cancelled (${error}): it was decided the other way too`)]);
      }
    });

    it('a vote counted after the hold was closed', () => {
      const report = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'rejected', requiredReviewers: ['alice', 'bob'], decidedAt: date(1), decidedBy: 'alice' })],
          votes: [vote('h1', 'alice', 'reject', 1), vote('h1', 'bob', 'approve', 2)],
          jobs: [heldJob('run-1', { status: 'cancelled', error: REJECTED_ERROR, runStatus: 'cancelled' })],
        }),
      );
      expect(report.evidence).toEqual([expect.stringMatching(/'bob''s approve was counted at .*, after the hold was closed rejected at /)]);
      expect(report.firstViolationAtMs).toBe(ms(2));
    });

    it('an API answer that said approved or rejected while the hold ends otherwise', () => {
      const expired = holdsView({ holds: [hold('h-run-1', 'run-1', { status: 'expired', decidedAt: date(5) })], jobs: [heldJob('run-1', { status: 'cancelled', error: EXPIRED_ERROR, runStatus: 'cancelled' })] });
      const report = broken(expired, { answers: [answer('run-1', 'approve', 200, 'approved', { atMs: ms(4) })] });
      expect(report.evidence).toEqual([expect.stringMatching(/^node-1 answered approve of job "release" of run run-1 \(ask 1\) at .* with 200: reviewers hold approved, but hold h-run-1 ends expired at /)]);
      expect(report.firstViolationAtMs).toBe(ms(4));
      // A 200 naming a hold the database does not have.
      const none = broken(holdsView({ holds: [hold('h-run-2', 'run-2', { status: 'approved', decidedAt: date(1), decidedBy: 'chaos-reviewer' })], votes: [vote('h-run-2', 'chaos-reviewer', 'approve')], jobs: [heldJob('run-2')] }), {
        answers: [answer('run-1', 'reject', 200, 'rejected')],
      });
      expect(none.evidence).toEqual([expect.stringContaining('but the database has no such hold')]);
      // Refusals and a pending answer (other reviewers still awaited) say nothing of the end.
      const fine = checkHoldsDecidedOnce({ view: expired, journal: NO_JOURNAL, answers: [answer('run-1', 'approve', 404), answer('run-1', 'approve', 409), answer('run-1', 'approve', 200, 'pending')] });
      expect(fine.verdict).toBe('held');
    });

    it('two holds for one job and gate', () => {
      const report = broken(
        holdsView({
          holds: [hold('h1', 'run-1', { status: 'approved', decidedAt: date(1), decidedBy: 'chaos-reviewer' }), hold('h2', 'run-1', { status: 'expired', decidedAt: date(5), createdAt: date(0.5) })],
          votes: [vote('h1', 'chaos-reviewer', 'approve')],
          jobs: [heldJob('run-1', { status: 'cancelled', error: EXPIRED_ERROR })],
        }),
      );
      expect(report.evidence).toContainEqual('job "release" of run run-1 has 2 holds for gate reviewers: h1 approved, h2 expired');
    });

    it('a status seen decided, then seen otherwise', () => {
      const approved = holdsView({ holds: [hold('h1', 'run-1', { status: 'approved', decidedAt: date(1), decidedBy: 'chaos-reviewer' })], votes: [vote('h1', 'chaos-reviewer', 'approve')], jobs: [heldJob('run-1')] });
      const report = broken(approved, {
        sightings: [
          { holdId: 'h1', status: 'expired', atMs: ms(0.9) },
          { holdId: 'h1', status: 'approved', atMs: ms(1.2) },
        ],
      });
      expect(report.evidence).toEqual([expect.stringMatching(/^hold h1 on job "release" of run run-1 was seen expired at .*, then approved at /)]);
      const endsOtherwise = broken(approved, { sightings: [{ holdId: 'h1', status: 'rejected', atMs: ms(1.1) }] });
      expect(endsOtherwise.evidence).toEqual([expect.stringContaining('was seen rejected at 2026-03-01T12:00:01.100Z, and ends approved')]);
    });
  });
});
