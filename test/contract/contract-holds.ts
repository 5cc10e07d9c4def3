/**
 * Holds: a job held at an environment's gate gets its hold with the job's own write, fenced like
 * every job write, and each step of the hold's life (a vote, the decision, an expiry, a
 * cancellation) goes with the job's write too, all of it or nothing. The run actor relies on a
 * refused write having changed nothing at all, hold, vote or job, and on one hold per job and gate
 * (holding a job again after a restart keeps the hold already waiting).
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { HoldGate, HoldVote, NewHold } from '../../src/environments/index.js';
import type { HoldChange, JobGate, JobPatch, JobWriteGuard, OverdueJobs, RunStore } from '../../src/runs/index.js';
import { type ContractContext, jobIn } from './contract-context.js';
import { at, E, NEWER, sampleRun } from './run-store.fixtures.js';

type HoldingStore = Required<Pick<RunStore, 'holdJob' | 'holdsOfRun' | 'changeHold'>> & Required<Pick<OverdueJobs, 'overdueHolds'>>;

const pending: JobWriteGuard = { epoch: E, expectStatus: 'pending' };

/** The job's gate while it waits at `gate` (its stored status stays pending). */
const waitingAt = (gate: HoldGate, reason = `held for ${gate}`): JobGate => ({ passed: [], waiting: gate, reason, waitUntil: null, slots: [] });
const admitted: JobGate = { passed: [], waiting: null, reason: null, waitUntil: null, slots: [] };

const vote = (reviewer: string, verdict: HoldVote['verdict'], ms: number, reason: string | null = null): HoldVote => ({ reviewer, verdict, reason, at: at(ms) });

export function holdsContract(ctx: ContractContext): void {
  const store = (): HoldingStore => {
    const s = ctx.store() as RunStore & Partial<OverdueJobs>;
    if (!s.holdJob || !s.holdsOfRun || !s.changeHold || !s.overdueHolds) throw new Error('this store keeps no holds');
    return s as RunStore & HoldingStore;
  };

  /** A run with its pending `deploy` job held for `reviewers` (or `gate`), as the gates hold it. */
  const newHold = (runId: string, jobId: string, fields: Partial<NewHold> = {}): NewHold => ({
    orgId: 'org_contract',
    runId,
    jobId,
    environmentId: null,
    gate: 'reviewers',
    reviewers: ['alice', 'bob'],
    reason: "waiting for the reviewers of environment 'production'",
    createdAt: Date.now(),
    expiresAt: at(3_600_000),
    ...fields,
  });
  const heldRun = async (fields: Partial<NewHold> = {}, options: { shard?: number } = {}) => {
    const run = await ctx.seed(sampleRun(), options);
    const hold = newHold(run.runId, run.deploy, fields);
    expect(await store().holdJob(run.deploy, hold, { gate: waitingAt(hold.gate) }, pending)).toBe(true);
    const [stored] = await store().holdsOfRun(run.runId);
    if (!stored) throw new Error('the hold was not stored');
    return { ...run, hold: stored };
  };
  const change = (holdId: string, fields: Partial<HoldChange>): HoldChange => ({ holdId, status: 'pending', at: at(50_000), ...fields });

  it('holds a job: a pending hold on record, with the job patch written', async () => {
    const { runId, deploy } = await ctx.seed(sampleRun());
    const hold = newHold(runId, deploy);
    expect(await store().holdJob(deploy, hold, { gate: waitingAt('reviewers') }, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([
      { ...hold, id: expect.any(String), status: 'pending', decidedAt: null, decidedBy: null, votes: [] },
    ]);
    expect(jobIn(await ctx.load(runId), deploy)).toMatchObject({ status: 'pending', gate: waitingAt('reviewers') });
    expect(await store().holdsOfRun(randomUUID())).toEqual([]);
  });

  it('holding a job again at the same gate keeps the first hold as it was, and still writes the job', async () => {
    const { runId, deploy, hold } = await heldRun();
    const again = newHold(runId, deploy, { expiresAt: at(7_200_000), reason: 'held again', reviewers: ['carol'] });
    expect(await store().holdJob(deploy, again, { gate: waitingAt('reviewers', 'held again') }, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([hold]);
    expect(hold).toMatchObject({ expiresAt: at(3_600_000), reviewers: ['alice', 'bob'] });
    expect(jobIn(await ctx.load(runId), deploy).gate).toEqual(waitingAt('reviewers', 'held again'));
  });

  it('a second gate on the same job is a hold of its own, listed after the first', async () => {
    const { runId, deploy, hold: trust } = await heldRun({ gate: 'trust', reviewers: [], reason: 'security review' });
    expect(await store().changeHold(deploy, change(trust.id, { status: 'approved', vote: vote('admin', 'approve', 1_000), at: at(1_000) }), { gate: admitted }, pending)).toBe(true);
    expect(await store().holdJob(deploy, newHold(runId, deploy), { gate: waitingAt('reviewers') }, pending)).toBe(true);

    const holds = await store().holdsOfRun(runId);
    expect(holds.map((h) => [h.gate, h.status])).toEqual([
      ['trust', 'approved'],
      ['reviewers', 'pending'],
    ]);
    expect(holds[1]!.id).not.toBe(trust.id);
  });

  it('a hold refused by the fence writes neither the hold nor the job', async () => {
    const shard = await ctx.newShard();
    const { runId, deploy } = await ctx.seed(sampleRun(), { shard });
    await ctx.moveShard(shard, NEWER);
    expect(await store().holdJob(deploy, newHold(runId, deploy), { gate: waitingAt('reviewers') }, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([]);
    expect(jobIn(await ctx.load(runId), deploy).gate).toBeNull();
    // At an epoch the shard has not reached yet, too.
    expect(await store().holdJob(deploy, newHold(runId, deploy), { gate: waitingAt('reviewers') }, { epoch: NEWER + 1, expectStatus: 'pending' })).toBe(false);
    expect(await store().holdsOfRun(runId)).toEqual([]);
  });

  it('a hold whose job status guard fails writes neither the hold nor the job', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await store().holdJob(test20, newHold(runId, test20), { gate: waitingAt('reviewers') }, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([]);
    expect(jobIn(await ctx.load(runId), test20)).toMatchObject({ status: 'running', gate: null });
  });

  it('a vote that leaves the hold pending records the vote only, with the job patch', async () => {
    const { runId, deploy, hold } = await heldRun();
    const alice = vote('alice', 'approve', 2_000, 'looks fine');
    expect(await store().changeHold(deploy, change(hold.id, { vote: alice }), { gate: waitingAt('reviewers', 'waiting for bob') }, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, votes: [alice] }]);
    expect(jobIn(await ctx.load(runId), deploy).gate).toEqual(waitingAt('reviewers', 'waiting for bob'));
  });

  it('the deciding approve closes the hold: decided then, by its reviewer, the job admitted', async () => {
    const { runId, deploy, hold } = await heldRun();
    const alice = vote('alice', 'approve', 2_000);
    const bob = vote('bob', 'approve', 3_000, 'ship it');
    expect(await store().changeHold(deploy, change(hold.id, { vote: alice }), {}, pending)).toBe(true);
    expect(await store().changeHold(deploy, change(hold.id, { status: 'approved', vote: bob, at: at(3_000) }), { gate: admitted }, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, status: 'approved', decidedAt: at(3_000), decidedBy: 'bob', votes: [alice, bob] }]);
    expect(jobIn(await ctx.load(runId), deploy).gate).toEqual(admitted);
  });

  it('a reject closes the hold and keeps why the job was held; the job ends with it', async () => {
    const { runId, deploy, hold } = await heldRun();
    const no = vote('bob', 'reject', 2_500, 'not on a Friday');
    const patch: JobPatch = { status: 'cancelled', error: "cancelled: rejected by 'bob': not on a Friday", finishedAt: at(2_500) };
    expect(await store().changeHold(deploy, change(hold.id, { status: 'rejected', vote: no, at: at(2_500) }), patch, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, status: 'rejected', decidedAt: at(2_500), decidedBy: 'bob', votes: [no] }]);
    expect(jobIn(await ctx.load(runId), deploy)).toMatchObject(patch);
  });

  it('a second vote by the same reviewer is refused and writes nothing, not even the job patch', async () => {
    const { runId, deploy, hold } = await heldRun();
    const alice = vote('alice', 'approve', 2_000);
    expect(await store().changeHold(deploy, change(hold.id, { vote: alice }), {}, pending)).toBe(true);
    const before = jobIn(await ctx.load(runId), deploy);

    expect(await store().changeHold(deploy, change(hold.id, { vote: vote('alice', 'reject', 2_100) }), { error: 'must not be written' }, pending)).toBe(false);
    expect(await store().changeHold(deploy, change(hold.id, { status: 'rejected', vote: vote('alice', 'reject', 2_200), at: at(2_200) }), { error: 'must not be written' }, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, votes: [alice] }]);
    expect(jobIn(await ctx.load(runId), deploy)).toEqual(before);
  });

  it('a change to a hold that is no longer pending is refused and writes nothing', async () => {
    const { runId, deploy, hold } = await heldRun({ reviewers: ['alice'] });
    expect(await store().changeHold(deploy, change(hold.id, { status: 'approved', vote: vote('alice', 'approve', 2_000), at: at(2_000) }), {}, pending)).toBe(true);
    const [closed] = await store().holdsOfRun(runId);
    const before = jobIn(await ctx.load(runId), deploy);

    expect(await store().changeHold(deploy, change(hold.id, { vote: vote('bob', 'reject', 3_000) }), { error: 'late' }, pending)).toBe(false);
    expect(await store().changeHold(deploy, change(hold.id, { status: 'expired', at: at(4_000) }), { error: 'late' }, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([closed]);
    expect(jobIn(await ctx.load(runId), deploy)).toEqual(before);
  });

  it('a change naming a hold of another job, or no hold, is refused and writes nothing', async () => {
    const { runId, deploy, test22, hold } = await heldRun();
    const before = await ctx.load(runId);
    const patch: JobPatch = { error: 'must not be written' };
    expect(await store().changeHold(test22, change(hold.id, { vote: vote('alice', 'approve', 2_000) }), patch, { epoch: E })).toBe(false);
    expect(await store().changeHold(deploy, change(randomUUID(), { vote: vote('alice', 'approve', 2_000) }), patch, pending)).toBe(false);
    expect(await store().changeHold(deploy, change('not-a-hold-id', { status: 'expired' }), patch, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([hold]);
    expect(await ctx.load(runId)).toEqual(before);
  });

  it('a change refused by the fence writes neither the vote, the hold nor the job', async () => {
    const shard = await ctx.newShard();
    const { runId, deploy, hold } = await heldRun({}, { shard });
    const before = jobIn(await ctx.load(runId), deploy);
    await ctx.moveShard(shard, NEWER);

    expect(await store().changeHold(deploy, change(hold.id, { vote: vote('alice', 'approve', 2_000) }), { error: 'fenced' }, pending)).toBe(false);
    expect(await store().changeHold(deploy, change(hold.id, { status: 'expired', at: at(9_000) }), { status: 'cancelled' }, pending)).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([hold]);
    expect(jobIn(await ctx.load(runId), deploy)).toEqual(before);
  });

  it('a change whose job status guard fails writes neither the vote, the hold nor the job', async () => {
    const { runId, deploy, hold } = await heldRun();
    const before = jobIn(await ctx.load(runId), deploy);
    expect(await store().changeHold(deploy, change(hold.id, { status: 'approved', vote: vote('alice', 'approve', 2_000), at: at(2_000) }), { error: 'x' }, { epoch: E, expectStatus: 'running' })).toBe(false);

    expect(await store().holdsOfRun(runId)).toEqual([hold]);
    expect(jobIn(await ctx.load(runId), deploy)).toEqual(before);
  });

  it('an expiry closes the hold decided by nobody, and the job ends with it', async () => {
    const { runId, deploy, hold } = await heldRun();
    const patch: JobPatch = { status: 'cancelled', error: 'cancelled: the hold for review expired', finishedAt: at(3_600_000) };
    expect(await store().changeHold(deploy, change(hold.id, { status: 'expired', at: at(3_600_000) }), patch, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, status: 'expired', decidedAt: at(3_600_000), decidedBy: null }]);
    expect(jobIn(await ctx.load(runId), deploy)).toMatchObject(patch);
  });

  it('a hold whose job ended without a decision is cancelled', async () => {
    const { runId, deploy, hold } = await heldRun();
    expect(await store().changeHold(deploy, change(hold.id, { status: 'cancelled', at: at(60_000) }), { status: 'cancelled', finishedAt: at(60_000) }, pending)).toBe(true);

    expect(await store().holdsOfRun(runId)).toEqual([{ ...hold, status: 'cancelled', decidedAt: at(60_000), decidedBy: null }]);
    expect(await store().overdueHolds(at(10 * 3_600_000), 1_000)).not.toContainEqual(expect.objectContaining({ holdId: hold.id }));
  });

  it('overdue holds: only pending ones at or past their expiry, earliest first, at most the limit', async () => {
    // Expiries years before any other test's, so the holds other tests leave pending never show.
    const base = Date.UTC(2001, 0, 1, 0, 0, 0, 7);
    const later = await heldRun({ expiresAt: base + 2_000 });
    const earlier = await heldRun({ expiresAt: base + 1_000 });
    const onTheDot = await heldRun({ expiresAt: base + 3_000 });
    await heldRun({ expiresAt: base + 3_001 });
    const decided = await heldRun({ expiresAt: base + 500, reviewers: ['alice'] });
    expect(await store().changeHold(decided.deploy, change(decided.hold.id, { status: 'approved', vote: vote('alice', 'approve', 1), at: at(1) }), {}, pending)).toBe(true);

    const entry = (h: typeof later) => ({ runId: h.runId, jobId: h.deploy, holdId: h.hold.id });
    expect(await store().overdueHolds(base + 3_000, 10)).toEqual([entry(earlier), entry(later), entry(onTheDot)]);
    expect(await store().overdueHolds(base + 3_000, 2)).toEqual([entry(earlier), entry(later)]);
    expect(await store().overdueHolds(base + 999, 10)).toEqual([]);
  });
}
