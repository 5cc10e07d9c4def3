/**
 * Who decides a hold, and when: every listed reviewer approves, the first reject rejects, a trust
 * hold (no list) takes any one admin's word, and refused votes say why.
 */
import { describe, expect, it } from 'vitest';
import { castVote, expiryReason, holdExpired, rejectionReason, remainingReviewers, type Hold, type HoldVote } from '../../../src/environments/index.js';

const hold = (fields: Partial<Hold> = {}): Hold => ({
  id: 'h1',
  orgId: 'acme',
  runId: 'r1',
  jobId: 'j1',
  environmentId: 'e1',
  gate: 'reviewers',
  reviewers: ['alice', 'bob'],
  reason: 'held for review',
  createdAt: 0,
  expiresAt: 3_600_000,
  status: 'pending',
  decidedAt: null,
  decidedBy: null,
  votes: [],
  ...fields,
});
const vote = (reviewer: string, verdict: 'approve' | 'reject' = 'approve', reason: string | null = null): HoldVote => ({ reviewer, verdict, reason, at: 1 });

describe('castVote', () => {
  it('counts an approval until every listed reviewer approved', () => {
    expect(castVote(hold(), vote('bob'))).toEqual({ kind: 'counted', vote: vote('bob'), remaining: ['alice'] });
    expect(castVote(hold({ votes: [vote('bob')] }), vote('alice'))).toEqual({ kind: 'approved', vote: vote('alice') });
  });

  it('rejects at the first reject, even after approvals', () => {
    expect(castVote(hold({ votes: [vote('alice')] }), vote('bob', 'reject', 'no'))).toEqual({ kind: 'rejected', vote: vote('bob', 'reject', 'no') });
  });

  it('refuses an unlisted name, a second vote, and a closed hold', () => {
    expect(castVote(hold(), vote('carol'))).toMatchObject({ kind: 'refused', code: 'not-listed' });
    expect(castVote(hold({ votes: [vote('alice')] }), vote('alice', 'reject'))).toEqual({ kind: 'refused', code: 'voted', message: "'alice' already approved this hold" });
    expect(castVote(hold({ status: 'expired' }), vote('alice'))).toEqual({ kind: 'refused', code: 'not-pending', message: 'the hold on this job is already expired' });
  });

  it('a trust hold lists nobody: any one admin decides it', () => {
    const trust = hold({ gate: 'trust', reviewers: [] });
    expect(castVote(trust, vote('anyone'))).toEqual({ kind: 'approved', vote: vote('anyone') });
    expect(castVote(trust, vote('anyone', 'reject'))).toMatchObject({ kind: 'rejected' });
  });

  it('a viewer votes only where the hold names it: never on a trust hold', () => {
    const viewer = { listedOnly: true };
    expect(castVote(hold({ gate: 'trust', reviewers: [] }), vote('alice'), viewer)).toEqual({
      kind: 'refused',
      code: 'not-listed',
      message: "'alice' is a viewer: a hold that names no reviewer is decided by an admin",
    });
    expect(castVote(hold(), vote('bob'), viewer)).toEqual({ kind: 'counted', vote: vote('bob'), remaining: ['alice'] });
    expect(castVote(hold(), vote('carol'), viewer)).toMatchObject({ kind: 'refused', code: 'not-listed' });
  });
});

describe('hold helpers', () => {
  it('remaining reviewers ignore rejections and unlisted votes', () => {
    expect(remainingReviewers(hold({ votes: [vote('alice', 'reject'), vote('carol')] }))).toEqual(['alice', 'bob']);
  });

  it('a hold expires at its expiry, not before, and only while pending', () => {
    expect(holdExpired(hold(), 3_599_999)).toBe(false);
    expect(holdExpired(hold(), 3_600_000)).toBe(true);
    expect(holdExpired(hold({ status: 'approved' }), 9_999_999)).toBe(false);
  });

  it('the job errors name what happened', () => {
    expect(expiryReason(hold())).toBe('cancelled: the hold for review expired after 3600 s without a decision');
    expect(expiryReason(hold({ gate: 'trust' }))).toBe('cancelled: the hold for security review expired after 3600 s without a decision');
    expect(rejectionReason(vote('bob', 'reject'))).toBe("cancelled: rejected by 'bob'");
  });
});
