/**
 * Holds on one node, with a manual clock: a job whose environment lists reviewers is held (a
 * `held_runs` row and the machine's `held` state) until every listed reviewer approved, the first
 * reject cancels it, a hold nobody decides expires through the coordinator's duty (exactly once),
 * and a held job whose run is cancelled closes its hold. Votes that must change nothing don't.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRunStore, jobState, type RunMessage } from '../../../src/runs/index.js';
import { flush, harness } from './gated-runs.js';

type Vote = Omit<Extract<RunMessage, { type: 'hold_vote' }>, 'type' | 'reason'> & { reason?: string };

async function heldDeploy(options: { reviewers?: string[]; waitTimerSeconds?: number; holdExpirySeconds?: number; concurrencyLimit?: number; runIds?: string[] } = {}) {
  const h = harness();
  await h.env({
    name: 'production',
    requiredReviewers: options.reviewers ?? ['bob', 'alice'],
    ...(options.waitTimerSeconds !== undefined && { waitTimerSeconds: options.waitTimerSeconds }),
    ...(options.holdExpirySeconds !== undefined && { holdExpirySeconds: options.holdExpirySeconds }),
    ...(options.concurrencyLimit !== undefined && { concurrencyLimit: options.concurrencyLimit }),
  });
  const deploys = (options.runIds ?? ['r1']).map((runId) => h.addRun({ runId, environments: ['production'], withDependent: true }));
  const vote = (runId: string, v: Vote) => h.send(runId, { type: 'hold_vote', ...v, reason: v.reason ?? null });
  const holds = (runId: string) => h.store.holdsOfRun(runId);
  return { h, deploy: deploys[0]!, deploys, vote, holds };
}

describe('RunActor: holds', () => {
  it('holds a job whose environment lists reviewers: a pending hold on record, nothing dispatched', async () => {
    const { h, deploy, holds } = await heldDeploy();
    await h.send('r1', { type: 'start' });
    const job = h.job('r1', deploy);
    expect(job.status).toBe('pending');
    expect(jobState(job)).toBe('held');
    expect(job.gate?.reason).toBe("held for review: environment 'production' requires approval by alice, bob (every reviewer must approve)");
    const [hold] = await holds('r1');
    expect(hold).toMatchObject({ jobId: deploy, gate: 'reviewers', reviewers: ['alice', 'bob'], status: 'pending', votes: [], decidedAt: null });
    expect(hold!.expiresAt).toBe(h.clock.now() + 3600_000);
    expect(h.dispatcher.dispatches).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('runs the job once every listed reviewer approved; an unlisted name and a second vote change nothing', async () => {
    const { h, deploy, vote, holds } = await heldDeploy();
    await h.send('r1', { type: 'start' });

    expect(await vote('r1', { reviewer: 'carol', verdict: 'approve' })).toEqual({
      ok: false,
      refused: 'conflict',
      ignored: "'carol' is not a reviewer of this hold (reviewers: alice, bob)",
    });
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve' })).toEqual({ ok: true, holds: [{ job: deploy, gate: 'reviewers', status: 'pending', remaining: ['bob'] }] });
    expect(h.job('r1', deploy).gate?.reason).toContain('approved by alice, waiting for bob');
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve' })).toMatchObject({ ok: false, refused: 'conflict', ignored: "'alice' already approved this hold" });
    expect(h.dispatcher.dispatches).toEqual([]);

    expect(await vote('r1', { reviewer: 'bob', verdict: 'approve', reason: 'ship it' })).toEqual({
      ok: true,
      holds: [{ job: deploy, gate: 'reviewers', status: 'approved', remaining: [] }],
    });
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([deploy]);
    const [hold] = await holds('r1');
    expect(hold).toMatchObject({ status: 'approved', decidedBy: 'bob', decidedAt: h.clock.now() });
    expect(hold!.votes.map((v) => [v.reviewer, v.verdict, v.reason])).toEqual([
      ['alice', 'approve', null],
      ['bob', 'approve', 'ship it'],
    ]);
    expect(await vote('r1', { reviewer: 'bob', verdict: 'reject' })).toMatchObject({ ok: false, refused: 'not-found' });
    await h.finish('r1', deploy);
    expect(h.store.run('r1').run.status).toBe('running');
    expect(h.failures).toEqual([]);
  });

  it('the first reject cancels the job with the reviewer and the reason; its dependents are skipped', async () => {
    const { h, deploy, vote, holds } = await heldDeploy();
    await h.send('r1', { type: 'start' });
    await vote('r1', { reviewer: 'alice', verdict: 'approve' });
    expect(await vote('r1', { reviewer: 'bob', verdict: 'reject', reason: 'not on a Friday' })).toEqual({
      ok: true,
      holds: [{ job: deploy, gate: 'reviewers', status: 'rejected', remaining: [] }],
    });
    expect(h.job('r1', deploy)).toMatchObject({ status: 'cancelled', error: "cancelled: rejected by 'bob': not on a Friday" });
    expect(h.job('r1', 'r1-after').status).toBe('skipped');
    expect(h.store.run('r1').run.status).toBe('cancelled');
    expect((await holds('r1'))[0]).toMatchObject({ status: 'rejected', decidedBy: 'bob' });
    expect(h.dispatcher.dispatches).toEqual([]);
  });

  it('names the job a vote is for: an unknown name and a job with no hold are not found', async () => {
    const { h, deploy, vote } = await heldDeploy();
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve' })).toMatchObject({ ok: false, refused: 'not-found', ignored: 'run r1 has no pending hold' });
    await h.send('r1', { type: 'start' });
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve', job: 'nope' })).toMatchObject({ ok: false, refused: 'not-found' });
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve', job: 'r1-after' })).toMatchObject({
      ok: false,
      refused: 'not-found',
      ignored: 'job "r1-after" of run r1 has no pending hold',
    });
    expect(await vote('r1', { reviewer: 'alice', verdict: 'approve', job: deploy })).toMatchObject({ ok: true });
  });

  it('expires a hold nobody decided, through the coordinator duty, exactly once', async () => {
    const { h, deploy, holds } = await heldDeploy({ holdExpirySeconds: 60 });
    await h.send('r1', { type: 'start' });
    h.clock.advance(59_999);
    await h.expiryScan();
    expect(jobState(h.job('r1', deploy))).toBe('held');

    h.clock.advance(1);
    await h.expiryScan();
    expect(h.job('r1', deploy)).toMatchObject({ status: 'cancelled', error: 'cancelled: the hold for review expired after 60 s without a decision' });
    const [expired] = await holds('r1');
    expect(expired).toMatchObject({ status: 'expired', decidedBy: null, decidedAt: h.clock.now() });
    expect(h.store.run('r1').run.status).toBe('cancelled');

    // A late or repeated word from the duty finds nothing pending.
    const holdId = expired!.id;
    h.clock.advance(10_000);
    await h.expiryScan();
    expect(await h.send('r1', { type: 'hold_expired', jobId: deploy, holdId })).toMatchObject({ ok: false });
    expect((await holds('r1'))[0]).toEqual(expired);
    expect(h.failures).toEqual([]);
  });

  it('a hold_expired told early (a clock behind the duty\u2019s) changes nothing', async () => {
    const { h, deploy, holds } = await heldDeploy({ holdExpirySeconds: 60 });
    await h.send('r1', { type: 'start' });
    const [hold] = await holds('r1');
    expect(await h.send('r1', { type: 'hold_expired', jobId: deploy, holdId: hold!.id })).toEqual({ ok: false, ignored: 'the hold has not expired' });
    expect(jobState(h.job('r1', deploy))).toBe('held');
  });

  it('cancelling the run closes the hold of its held job as cancelled', async () => {
    const { h, deploy, holds } = await heldDeploy();
    await h.send('r1', { type: 'start' });
    await h.send('r1', { type: 'cancel', reason: 'cancelled by an operator' });
    expect(h.job('r1', deploy).status).toBe('cancelled');
    expect((await holds('r1'))[0]).toMatchObject({ status: 'cancelled', decidedBy: null, decidedAt: h.clock.now() });
    expect(h.store.run('r1').run.status).toBe('cancelled');
  });

  it('a held job survives a restart: one hold on record, and the votes still decide it', async () => {
    const { h, deploy, vote, holds } = await heldDeploy({ reviewers: ['alice'] });
    await h.send('r1', { type: 'start' });
    await h.restart();
    await h.send('r1', { type: 'resume' });
    expect(await holds('r1')).toHaveLength(1);
    expect(jobState(h.job('r1', deploy))).toBe('held');
    await vote('r1', { reviewer: 'alice', verdict: 'approve' });
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([deploy]);
  });

  it('after the approval, the wait timer: approved, then waiting, then dispatched', async () => {
    const { h, deploy, vote } = await heldDeploy({ reviewers: ['alice'], waitTimerSeconds: 30 });
    await h.send('r1', { type: 'start' });
    await vote('r1', { reviewer: 'alice', verdict: 'approve' });
    expect(jobState(h.job('r1', deploy))).toBe('waiting');
    h.clock.advance(30_000);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([deploy]);
  });

  it('the slot comes before the review: with limit 1 the second run waits for the slot, and gets held when the first is rejected', async () => {
    const { h, deploys, vote, holds } = await heldDeploy({ reviewers: ['alice'], concurrencyLimit: 1, runIds: ['r1', 'r2'] });
    await h.send('r1', { type: 'start' });
    await h.send('r2', { type: 'start' });
    expect(jobState(h.job('r1', deploys[0]!))).toBe('held');
    expect(h.job('r2', deploys[1]!).gate?.waiting).toBe('concurrency');
    expect(await vote('r2', { reviewer: 'alice', verdict: 'approve' })).toMatchObject({ ok: false, refused: 'not-found' });

    await vote('r1', { reviewer: 'alice', verdict: 'reject' });
    await flush();
    expect(jobState(h.job('r2', deploys[1]!))).toBe('held');
    expect(await holds('r2')).toHaveLength(1);
  });

  it('a node whose store keeps no holds fails the job instead of running it ungated', async () => {
    const h = harness({ store: withoutHolds(new MemoryRunStore()) });
    await h.env({ name: 'production', requiredReviewers: ['alice'] });
    const deploy = h.addRun({ runId: 'r1', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', deploy)).toMatchObject({
      status: 'failed',
      error: "environment protection: environment 'production' requires reviewers (alice), and this node's store keeps no holds; the job was not run",
    });
    expect(h.dispatcher.dispatches).toEqual([]);
  });
});

/** The same store, without the hold methods (as an older store would be). */
function withoutHolds(store: MemoryRunStore): MemoryRunStore {
  return Object.assign(Object.create(store) as MemoryRunStore, { holdJob: undefined, holdsOfRun: undefined, changeHold: undefined });
}
