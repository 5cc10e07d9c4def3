/**
 * The actor never reads a `false` alone: RunWrites reloads and decides whether another owner took
 * the run (FencedOut: step down) or another writer moved a row first (StateConflict: reload and
 * carry on). That decision rests on `ownerEpoch` and the stored statuses after a refusal, so it is
 * pinned here end to end, through the real RunWrites, on every backend.
 */
import { expect, it } from 'vitest';
import { FencedOut, RunWrites, StateConflict } from '../../src/runs/run-writes.js';
import { type ContractContext, jobIn } from './contract-context.js';
import { at, E, NEWER, sampleRun } from './run-store.fixtures.js';

const own = { epoch: E };
const newer = { epoch: NEWER };

export function runWritesContract(ctx: ContractContext): void {
  const oldOwner = (runId: string) => new RunWrites(ctx.store(), runId, E);

  it('a run write refused because a newer owner wrote the run reads as FencedOut', async () => {
    const { runId } = await ctx.seed(sampleRun());
    expect(await ctx.store().markRunCancelling(runId, newer)).toBe(true);
    await expect(oldOwner(runId).runCompleted('running', 'success', null, at(1))).rejects.toBeInstanceOf(FencedOut);
  });

  it('a run write refused because its status moved at the same epoch reads as StateConflict', async () => {
    const { runId } = await ctx.seed(sampleRun());
    expect(await ctx.store().completeRun(runId, 'failed', 'someone else', at(1), own)).toBe(true);
    await expect(oldOwner(runId).runCancelling('running')).rejects.toBeInstanceOf(StateConflict);
  });

  it('a job write whose status guard failed at the same epoch reads as StateConflict', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const stale = jobIn(await ctx.load(runId), test20);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, own)).toBe(true);
    await expect(oldOwner(runId).job(stale, { status: 'failed' })).rejects.toBeInstanceOf(StateConflict);
  });

  it('a job write refused because a newer owner moved that job reads as FencedOut', async () => {
    // Not StateConflict: that would have the deposed actor reload and keep acting on the run.
    const { runId, test20 } = await ctx.seed(sampleRun());
    const stale = jobIn(await ctx.load(runId), test20);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...newer, expectStatus: 'running' })).toBe(true);
    await expect(oldOwner(runId).job(stale, { status: 'failed' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a step write refused because a newer owner wrote its job reads as FencedOut', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await ctx.store().updateJob(test20, { lastHeartbeatAt: at(2) }, newer)).toBe(true);
    await expect(oldOwner(runId).step(test20, 0, { status: 'success' })).rejects.toBeInstanceOf(FencedOut);
  });

  it('a step the plan does not have reads as "not stored" (false), not as fenced', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await oldOwner(runId).step(test20, 5, { status: 'success' })).toBe(false);
  });

  ctx.gap('fencing-per-row')('a job write after a newer owner wrote only the run reads as FencedOut', async () => {
    const { runId, deploy } = await ctx.seed(sampleRun());
    expect(await ctx.store().markRunCancelling(runId, newer)).toBe(true);
    const stale = jobIn(await ctx.load(runId), deploy);
    await expect(oldOwner(runId).job(stale, { status: 'skipped' })).rejects.toBeInstanceOf(FencedOut);
  });
}
