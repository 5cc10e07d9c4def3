/**
 * Fencing per shard (DESIGN §3, Temporal's shard range ids). The store keeps one fence row per
 * shard with its epoch; a write for a run (its jobs and steps included) goes through only while
 * the run's shard row is at exactly the writer's epoch, and otherwise writes nothing. So once a
 * node that gains a shard has raised its row, every write of the old owner for that shard is
 * refused, rows the new owner never touched included; a write at an epoch the row has not been
 * raised to yet is refused; a shard with no row takes no write. `ownerEpoch` on load is the
 * epoch of the run's shard row, which is how the actor tells "fenced" from "guard did not hold".
 */
import { expect, it } from 'vitest';
import type { LoadedRun, RunStore, WriteFence } from '../../src/runs/index.js';
import type { ContractContext } from './contract-context.js';
import { at, E, NEWER, OLDER, type SampleRun, sampleRun } from './run-store.fixtures.js';

interface Write {
  name: string;
  /** The run's status for its guards to hold, so that only the fence can refuse it. */
  status: 'pending' | 'running';
  write(store: RunStore, run: SampleRun, fence: WriteFence): Promise<boolean>;
}

/** Every kind of write the port has, on the run, a job and a step. */
const WRITES: Write[] = [
  { name: 'markRunStarted', status: 'pending', write: (s, r, f) => s.markRunStarted(r.runId, at(1), f) },
  { name: 'markRunCancelling', status: 'running', write: (s, r, f) => s.markRunCancelling(r.runId, f) },
  { name: 'completeRun', status: 'running', write: (s, r, f) => s.completeRun(r.runId, 'success', null, at(1), f) },
  { name: 'updateJob, guard holding', status: 'running', write: (s, r, f) => s.updateJob(r.test20, { status: 'success' }, { ...f, expectStatus: 'running' }) },
  { name: 'updateJob, no guard (a job nobody wrote since creation)', status: 'running', write: (s, r, f) => s.updateJob(r.deploy, { needsSatisfied: true }, f) },
  { name: 'updateStep', status: 'running', write: (s, r, f) => s.updateStep(r.test20, 0, { status: 'success', exitCode: 0 }, f) },
];

interface Seeded {
  w: Write;
  run: SampleRun;
  before: LoadedRun;
}

/** One run per kind of write, in `shard` (the shared one unless given), with what each loads as. */
async function seedEach(ctx: ContractContext, shard?: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  for (const w of WRITES) {
    const run = await ctx.seed(sampleRun({ status: w.status, startedAt: w.status === 'pending' ? null : at(0) }), { shard });
    seeded.push({ w, run, before: await ctx.load(run.runId) });
  }
  return seeded;
}

/** What a run loads as once its shard's row holds `epoch` (undefined: no row), nothing else changed. */
const withOwner = (loaded: LoadedRun, epoch: number | undefined): LoadedRun => ({ ...loaded, run: { ...loaded.run, ownerEpoch: epoch } });

export function fencingContract(ctx: ContractContext): void {
  it('takes every kind of write at the epoch of the run\'s shard row, and loads that epoch as ownerEpoch', async () => {
    for (const { w, run, before } of await seedEach(ctx)) {
      expect(before.run.ownerEpoch, w.name).toBe(E);
      expect(await w.write(ctx.store(), run, { epoch: E }), w.name).toBe(true);
      expect((await ctx.load(run.runId)).run.ownerEpoch, w.name).toBe(E);
    }
  });

  it('refuses every kind of write from an epoch below the shard\'s, and writes nothing', async () => {
    for (const { w, run, before } of await seedEach(ctx)) {
      expect(await w.write(ctx.store(), run, { epoch: OLDER }), w.name).toBe(false);
      expect(await ctx.load(run.runId), w.name).toEqual(before);
    }
  });

  it('refuses every kind of write at an epoch above the shard\'s row (the gainer has not raised it yet), and writes nothing', async () => {
    for (const { w, run, before } of await seedEach(ctx)) {
      expect(await w.write(ctx.store(), run, { epoch: NEWER }), w.name).toBe(false);
      expect(await ctx.load(run.runId), w.name).toEqual(before);
    }
  });

  it('once the shard moves, refuses the old owner\'s writes to every run, job and step of it, rows the new owner never touched included', async () => {
    const shard = await ctx.newShard();
    const seeded = await seedEach(ctx, shard);
    // Only the shard's row is raised; the new owner writes none of these runs.
    await ctx.moveShard(shard, NEWER);
    for (const { w, run, before } of seeded) {
      expect(await w.write(ctx.store(), run, { epoch: E }), w.name).toBe(false);
      expect(await ctx.load(run.runId), w.name).toEqual(withOwner(before, NEWER));
    }
  });

  it('once the shard moves, takes the new owner\'s writes, and still refuses the old owner\'s after them', async () => {
    const shard = await ctx.newShard();
    const seeded = await seedEach(ctx, shard);
    await ctx.moveShard(shard, NEWER);
    for (const { w, run } of seeded) expect(await w.write(ctx.store(), run, { epoch: NEWER }), w.name).toBe(true);
    const { run } = seeded.find((s) => s.w.name === 'markRunCancelling')!;
    const taken = await ctx.load(run.runId);
    expect(taken.run).toMatchObject({ status: 'cancelling', ownerEpoch: NEWER });
    expect(await ctx.store().completeRun(run.runId, 'cancelled', null, at(2), { epoch: E })).toBe(false);
    expect(await ctx.store().updateJob(run.test22, { status: 'failed' }, { epoch: E, expectStatus: 'recovering' })).toBe(false);
    expect(await ctx.load(run.runId)).toEqual(taken);
  });

  it('refuses every kind of write for a shard that has no row, and writes nothing', async () => {
    const shard = await ctx.newShard();
    const seeded = await seedEach(ctx, shard);
    await ctx.dropShard(shard);
    for (const { w, run, before } of seeded) {
      expect(await w.write(ctx.store(), run, { epoch: E }), w.name).toBe(false);
      const after = await ctx.load(run.runId);
      expect(after.run.ownerEpoch, w.name).toBeUndefined();
      expect(after, w.name).toEqual(withOwner(before, undefined));
    }
  });

  it('fences only the shard that moved: runs of other shards keep taking their owner\'s writes', async () => {
    const shard = await ctx.newShard();
    const moved = await ctx.seed(sampleRun(), { shard });
    const stays = await ctx.seed(sampleRun());
    await ctx.moveShard(shard, NEWER);
    expect(await ctx.store().markRunCancelling(moved.runId, { epoch: E })).toBe(false);
    expect(await ctx.store().markRunCancelling(stays.runId, { epoch: E })).toBe(true);
    expect(await ctx.store().updateStep(stays.test20, 0, { status: 'success' }, { epoch: E })).toBe(true);
  });

  it('a write at the shard\'s epoch that its guard refuses writes nothing and leaves the owner writing', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { epoch: E, expectStatus: 'queued' })).toBe(false);
    expect(await ctx.store().markRunStarted(runId, at(4), { epoch: E })).toBe(false);
    expect(await ctx.store().updateStep(test20, 9, { status: 'success' }, { epoch: E })).toBe(false);
    expect(await ctx.load(runId)).toEqual(before);
    expect(await ctx.store().updateJob(test20, { status: 'success' }, { epoch: E, expectStatus: 'running' })).toBe(true);
    expect(await ctx.store().markRunCancelling(runId, { epoch: E })).toBe(true);
  });
}
