/**
 * Fencing by the owner's shard epoch. A write from an older epoch than the stored owner's is
 * refused and writes nothing; a write from a newer epoch goes through and takes the run over, so
 * the old owner is refused from then on; `ownerEpoch` on load names the newest owner that wrote,
 * which is how the actor tells "fenced" from "guard did not hold". A write from the stored epoch
 * itself goes through (the writes section does all its writes there).
 */
import { expect, it } from 'vitest';
import type { RunStore } from '../../src/runs/index.js';
import { type ContractContext, jobIn } from './contract-context.js';
import { at, E, NEWER, OLDER, sampleRun } from './run-store.fixtures.js';

const old = { epoch: OLDER };
const newer = { epoch: NEWER };
const own = { epoch: E };

export function fencingContract(ctx: ContractContext): void {
  it('refuses every kind of write from an older epoch, and writes nothing', async () => {
    const writes: [string, 'pending' | 'running', (s: RunStore, r: ReturnType<typeof sampleRun>) => Promise<boolean>][] = [
      ['markRunStarted', 'pending', (s, r) => s.markRunStarted(r.runId, at(1), old)],
      ['markRunCancelling', 'running', (s, r) => s.markRunCancelling(r.runId, old)],
      ['completeRun', 'running', (s, r) => s.completeRun(r.runId, 'success', null, at(1), old)],
      ['updateJob, guard holding', 'running', (s, r) => s.updateJob(r.test20, { status: 'success' }, { ...old, expectStatus: 'running' })],
      ['updateJob, no guard', 'running', (s, r) => s.updateJob(r.deploy, { needsSatisfied: true }, old)],
      ['updateStep', 'running', (s, r) => s.updateStep(r.test20, 0, { status: 'success', exitCode: 0 }, old)],
    ];
    for (const [name, status, write] of writes) {
      const run = await ctx.seed(sampleRun({ status, startedAt: status === 'pending' ? null : at(0) }));
      const before = await ctx.load(run.runId);
      expect(await write(ctx.store(), run), name).toBe(false);
      expect(await ctx.load(run.runId), name).toEqual(before);
    }
  });

  it('a run write from a newer epoch takes the run over; the old owner is refused after', async () => {
    const { runId } = await ctx.seed(sampleRun());
    expect(await ctx.store().markRunCancelling(runId, newer)).toBe(true);
    const taken = await ctx.load(runId);
    expect(taken.run).toMatchObject({ status: 'cancelling', ownerEpoch: NEWER });
    expect(await ctx.store().completeRun(runId, 'cancelled', null, at(2), own)).toBe(false);
    expect(await ctx.load(runId)).toEqual(taken);
    expect(await ctx.store().completeRun(runId, 'cancelled', null, at(2), newer)).toBe(true);
  });

  it('a job write from a newer epoch takes the job and its steps over, and shows in ownerEpoch', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await ctx.store().updateJob(test20, { lastHeartbeatAt: at(3) }, { ...newer, expectStatus: 'running' })).toBe(true);
    const taken = await ctx.load(runId);
    expect(taken.run.ownerEpoch).toBe(NEWER);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...own, expectStatus: 'running' })).toBe(false);
    expect(await ctx.store().updateStep(test20, 0, { status: 'success' }, own)).toBe(false);
    expect(await ctx.load(runId)).toEqual(taken);
  });

  it('a write from a newer epoch that its guard refuses takes nothing over', async () => {
    // Otherwise an owner that lost a guard race would fence out the owner that won it.
    const { runId, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...newer, expectStatus: 'queued' })).toBe(false);
    expect(await ctx.store().markRunStarted(runId, at(4), newer)).toBe(false);
    expect(await ctx.store().updateStep(test20, 9, { status: 'success' }, newer)).toBe(false);
    expect(await ctx.load(runId)).toEqual(before);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...own, expectStatus: 'running' })).toBe(true);
    expect(await ctx.store().markRunCancelling(runId, own)).toBe(true);
  });

  ctx.gap('fencing-per-row')('after a run write from a newer epoch, the old owner cannot write its jobs or steps', async () => {
    const { runId, test20, deploy } = await ctx.seed(sampleRun());
    expect(await ctx.store().markRunCancelling(runId, newer)).toBe(true);
    const taken = await ctx.load(runId);
    expect(await ctx.store().updateJob(deploy, { status: 'skipped' }, { ...own, expectStatus: 'pending' })).toBe(false);
    expect(await ctx.store().updateStep(test20, 0, { status: 'success' }, own)).toBe(false);
    expect(await ctx.load(runId)).toEqual(taken);
  });

  ctx.gap('fencing-per-row')('after a job write from a newer epoch, the old owner cannot write the run or other jobs', async () => {
    const { runId, test20, deploy } = await ctx.seed(sampleRun());
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...newer, expectStatus: 'running' })).toBe(true);
    const taken = await ctx.load(runId);
    expect(await ctx.store().completeRun(runId, 'failed', 'stale owner', at(5), own)).toBe(false);
    expect(await ctx.store().updateJob(deploy, { status: 'skipped' }, { ...own, expectStatus: 'pending' })).toBe(false);
    expect(await ctx.load(runId)).toEqual(taken);
  });

  ctx.gap('fencing-per-row')('a step write from a newer epoch takes the run over too', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    expect(await ctx.store().updateStep(test20, 0, { status: 'success', exitCode: 0 }, newer)).toBe(true);
    expect((await ctx.load(runId)).run.ownerEpoch).toBe(NEWER);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { ...own, expectStatus: 'running' })).toBe(false);
    expect(jobIn(await ctx.load(runId), test20).status).toBe('running');
  });
}
