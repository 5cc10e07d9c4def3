/**
 * The actor never reads a `false` alone: RunWrites reloads and decides whether it is not the owner
 * (FencedOut: step down) or another writer moved a row first (StateConflict: reload and carry on).
 * That decision rests on `ownerEpoch` (the epoch of the run's shard row) and the stored statuses
 * after a refusal, so it is pinned here end to end, through the real RunWrites, on every backend.
 */
import { expect, it } from 'vitest';
import { FencedOut, RunWrites, StateConflict } from '../../src/runs/run-writes.js';
import { type ContractContext, jobIn } from './contract-context.js';
import { at, E, NEWER, sampleRun } from './run-store.fixtures.js';

const own = { epoch: E };
const newer = { epoch: NEWER };

export function runWritesContract(ctx: ContractContext): void {
  const writer = (runId: string, epoch = E) => new RunWrites(ctx.store(), runId, epoch);
  /** A run in a shard of its own, which has just moved to a new owner at NEWER. */
  const movedRun = async () => {
    const shard = await ctx.newShard();
    const run = await ctx.seed(sampleRun(), { shard });
    const before = await ctx.load(run.runId);
    await ctx.moveShard(shard, NEWER);
    return { ...run, before };
  };

  it('a run write refused because the shard moved reads as FencedOut', async () => {
    const { runId } = await movedRun();
    await expect(writer(runId).runCompleted('running', 'success', null, at(1))).rejects.toBeInstanceOf(FencedOut);
  });

  it('a job write refused because the shard moved reads as FencedOut, for a job the new owner never wrote', async () => {
    // Not StateConflict: that would have the deposed actor reload and keep acting on the run.
    const { deploy, runId, before } = await movedRun();
    await expect(writer(runId).job(jobIn(before, deploy), { status: 'skipped' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a job write refused by the fence and by its guard at once reads as FencedOut', async () => {
    const { runId, test20, before } = await movedRun();
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...newer, expectStatus: 'running' })).toBe(true);
    await expect(writer(runId).job(jobIn(before, test20), { status: 'failed' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a step write refused because the shard moved reads as FencedOut', async () => {
    const { runId, test20 } = await movedRun();
    await expect(writer(runId).step(test20, 0, { status: 'success' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a write at an epoch the shard has not been raised to reads as FencedOut', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    await expect(writer(runId, NEWER).runCancelling('running')).rejects.toBeInstanceOf(FencedOut);
    await expect(writer(runId, NEWER).step(test20, 0, { status: 'success' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a write for a shard with no row reads as FencedOut', async () => {
    const shard = await ctx.newShard();
    const { runId, deploy } = await ctx.seed(sampleRun(), { shard });
    const stale = jobIn(await ctx.load(runId), deploy);
    await ctx.dropShard(shard);
    await expect(writer(runId).job(stale, { status: 'skipped' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a run write refused because its status moved at the same epoch reads as StateConflict', async () => {
    const { runId } = await ctx.seed(sampleRun());
    expect(await ctx.store().completeRun(runId, 'failed', 'someone else', at(1), own)).toBe(true);
    await expect(writer(runId).runCancelling('running')).rejects.toBeInstanceOf(StateConflict);
  });

  it('a job write whose status guard failed at the same epoch reads as StateConflict', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const stale = jobIn(await ctx.load(runId), test20);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, own)).toBe(true);
    await expect(writer(runId).job(stale, { status: 'failed' })).rejects.toBeInstanceOf(StateConflict);
  });

  it('a step the plan does not have reads as "not stored" (false), not as fenced', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await writer(runId).step(test20, 5, { status: 'success' })).toBe(false);
  });
}
