/**
 * Job writes of many runs sent at the same moment, as run actors on one node send them. The real
 * store may carry them in one statement (a group commit); whatever it does, each write must land,
 * or be refused, exactly as it would alone, and one write's refusal is never another's.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { JobPatch, LoadedRun } from '../../src/runs/index.js';
import { jobIn, type ContractContext } from './contract-context.js';
import { at, E, sampleRun } from './run-store.fixtures.js';

const fence = { epoch: E };

const fullPatch = (i: number): Required<JobPatch> => ({
  status: 'success',
  needsSatisfied: true,
  agentId: `agent-${i}`,
  previousAgentId: 'agent-8',
  dispatchAttempts: i + 1,
  dispatchedAt: at(20_001 + i),
  ackDeadline: at(30_002),
  ackedAt: at(20_503),
  recoveryDeadline: at(140_004),
  lastHeartbeatAt: at(25_005),
  startedAt: at(20_606),
  finishedAt: at(29_007 + i),
  outputs: { url: `https://example.test/${i}`, n: String(i) },
  error: i % 2 === 0 ? null : `error ${i}`,
  gate: { passed: ['concurrency'], waiting: null, reason: null, waitUntil: null, slots: [{ group: `g-${i}`, state: 'held', requestedAt: at(20_000), limit: 1, strategy: 'queue', rulesAt: at(1) }] },
});

export function concurrentWritesContract(ctx: ContractContext): void {
  it('job writes of many runs sent at once each land as they would alone, and touch nothing else', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => ctx.seed(sampleRun())));
    const before = new Map<string, LoadedRun>();
    for (const r of runs) before.set(r.runId, await ctx.load(r.runId));
    const clearing: JobPatch = { status: 'queued', agentId: null, recoveryDeadline: null, outputs: null, error: undefined };
    const tripsBefore = ctx.roundTrips();
    const results = await Promise.all(
      runs.flatMap((r, i) => [
        ctx.store().updateJob(r.deploy, fullPatch(i), { ...fence, expectStatus: 'pending' }),
        ctx.store().updateJob(r.test22, clearing, { ...fence, expectStatus: 'recovering' }),
        ctx.store().updateJob(r.build, { outputs: null, error: null }, fence),
      ]),
    );
    expect(results).toEqual(runs.flatMap(() => [true, true, true]));
    // A store with a database shares round trips among writes that come together.
    if (tripsBefore !== undefined) expect(ctx.roundTrips()! - tripsBefore).toBeLessThanOrEqual(results.length / 4);
    for (const [i, r] of runs.entries()) {
      const was = before.get(r.runId)!;
      const now = await ctx.load(r.runId);
      expect(jobIn(now, r.deploy)).toEqual({ ...jobIn(was, r.deploy), ...fullPatch(i) });
      expect(jobIn(now, r.test22)).toEqual({ ...jobIn(was, r.test22), status: 'queued', agentId: null, recoveryDeadline: null, outputs: null });
      expect(jobIn(now, r.build)).toEqual({ ...jobIn(was, r.build), outputs: null, error: null });
      expect(jobIn(was, r.build).outputs).not.toBeNull();
      expect(jobIn(now, r.test20)).toEqual(jobIn(was, r.test20));
      expect(now.run).toEqual(was.run);
    }
  });

  it('among writes sent at once, a fenced-out one, a guard that does not hold and a missing job are each refused alone', async () => {
    const moved = await ctx.newShard();
    const fencedRun = await ctx.seed(sampleRun(), { shard: moved });
    await ctx.moveShard(moved, E + 1);
    const guarded = await ctx.seed(sampleRun());
    const fine = await Promise.all([ctx.seed(sampleRun()), ctx.seed(sampleRun())]);
    const fencedBefore = await ctx.load(fencedRun.runId);
    const guardedBefore = await ctx.load(guarded.runId);
    const tripsBefore = ctx.roundTrips();
    const results = await Promise.all([
      ctx.store().updateJob(fine[0].deploy, { status: 'queued' }, { ...fence, expectStatus: 'pending' }),
      ctx.store().updateJob(fencedRun.deploy, { status: 'queued' }, { ...fence, expectStatus: 'pending' }),
      ctx.store().updateJob(guarded.deploy, { status: 'queued' }, { ...fence, expectStatus: 'running' }),
      ctx.store().updateJob(randomUUID(), { status: 'queued' }, fence),
      ctx.store().updateJob(fine[1].deploy, { status: 'queued', finishedAt: at(5) }, { ...fence, expectStatus: 'pending' }),
    ]);
    expect(results).toEqual([true, false, false, false, true]);
    // Judged from one shared statement, not by sending each alone again.
    if (tripsBefore !== undefined) expect(ctx.roundTrips()! - tripsBefore).toBe(1);
    expect(await ctx.load(fencedRun.runId)).toEqual({ ...fencedBefore, run: { ...fencedBefore.run, ownerEpoch: E + 1 } });
    expect(await ctx.load(guarded.runId)).toEqual(guardedBefore);
    expect(jobIn(await ctx.load(fine[0].runId), fine[0].deploy).status).toBe('queued');
    expect(jobIn(await ctx.load(fine[1].runId), fine[1].deploy)).toMatchObject({ status: 'queued', finishedAt: at(5) });
  });

  it('run and step writes of many runs sent at once land as alone; the fenced-out run among them is refused alone', async () => {
    const moved = await ctx.newShard();
    const fencedRun = await ctx.seed(sampleRun({ status: 'pending', startedAt: null }), { shard: moved });
    await ctx.moveShard(moved, E + 1);
    const runs = await Promise.all(Array.from({ length: 4 }, () => ctx.seed(sampleRun({ status: 'pending', startedAt: null }))));
    const before = new Map<string, LoadedRun>();
    for (const r of [...runs, fencedRun]) before.set(r.runId, await ctx.load(r.runId));
    const tripsBefore = ctx.roundTrips();
    const results = await Promise.all([
      ...runs.flatMap((r, i) => [
        ctx.store().markRunStarted(r.runId, at(100 + i), fence),
        ctx.store().updateStep(r.test20, 1, { status: 'success', exitCode: 0, finishedAt: at(200 + i) }, fence),
      ]),
      ctx.store().markRunStarted(fencedRun.runId, at(1), fence),
      ctx.store().updateStep(fencedRun.test20, 1, { status: 'success', exitCode: 0 }, fence),
      ctx.store().updateStep(runs[0]!.test20, 99, { status: 'success' }, fence),
    ]);
    expect(results).toEqual([...runs.flatMap(() => [true, true]), false, false, false]);
    if (tripsBefore !== undefined) expect(ctx.roundTrips()! - tripsBefore).toBeLessThanOrEqual(4);
    for (const [i, r] of runs.entries()) {
      const was = before.get(r.runId)!;
      const now = await ctx.load(r.runId);
      expect(now.run).toEqual({ ...was.run, status: 'running', startedAt: at(100 + i) });
      expect(now.steps).toEqual(
        was.steps.map((st) => (st.jobId === r.test20 && st.stepIndex === 1 ? { ...st, status: 'success', exitCode: 0, finishedAt: at(200 + i) } : st)),
      );
      expect(now.jobs).toEqual(was.jobs);
    }
    const fencedBefore = before.get(fencedRun.runId)!;
    expect(await ctx.load(fencedRun.runId)).toEqual({ ...fencedBefore, run: { ...fencedBefore.run, ownerEpoch: E + 1 } });
  });
}
