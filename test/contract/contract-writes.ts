/**
 * The writes at the owner's own epoch: the run's status moves and their guards, job and step
 * patches, and the job status guard. A refused write must leave everything as it was, since the
 * actor reloads and carries on from what the store says.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { JobPatch, RunStatus } from '../../src/runs/index.js';
import { type ContractContext, jobIn, stepIn } from './contract-context.js';
import { at, E, sampleRun } from './run-store.fixtures.js';

const fence = { epoch: E };
const NOT_PENDING: RunStatus[] = ['running', 'cancelling', 'held', 'success', 'failed', 'cancelled'];
const TERMINAL: RunStatus[] = ['success', 'failed', 'cancelled'];

export function writesContract(ctx: ContractContext): void {
  /** A seeded run in `status`, with the run-level fields a refused write must not touch. */
  const runIn = (status: RunStatus) => ctx.seed(sampleRun({ status, startedAt: status === 'pending' ? null : at(0), error: TERMINAL.includes(status) ? 'earlier' : null }));

  it('markRunStarted moves a pending run to running with its start time', async () => {
    const { runId } = await runIn('pending');
    expect(await ctx.store().markRunStarted(runId, at(50), fence)).toBe(true);
    expect((await ctx.load(runId)).run).toMatchObject({ status: 'running', startedAt: at(50), ownerEpoch: E });
  });

  it('markRunStarted refuses a run that is not pending and writes nothing', async () => {
    for (const status of NOT_PENDING) {
      const { runId } = await runIn(status);
      const before = await ctx.load(runId);
      expect(await ctx.store().markRunStarted(runId, at(50), fence), status).toBe(false);
      expect(await ctx.load(runId), status).toEqual(before);
    }
  });

  it('markRunCancelling moves a pending or running run to cancelling', async () => {
    for (const status of ['pending', 'running'] as const) {
      const { runId } = await runIn(status);
      expect(await ctx.store().markRunCancelling(runId, fence), status).toBe(true);
      expect((await ctx.load(runId)).run.status, status).toBe('cancelling');
    }
  });

  it('markRunCancelling refuses a cancelling, held or finished run and writes nothing', async () => {
    for (const status of ['cancelling', 'held', ...TERMINAL] as const) {
      const { runId } = await runIn(status);
      const before = await ctx.load(runId);
      expect(await ctx.store().markRunCancelling(runId, fence), status).toBe(false);
      expect(await ctx.load(runId), status).toEqual(before);
    }
  });

  it('completeRun finishes any run that has not finished, with its error', async () => {
    for (const status of ['pending', 'running', 'cancelling', 'held'] as const) {
      const { runId } = await runIn(status);
      expect(await ctx.store().completeRun(runId, 'failed', `from ${status}`, at(60), fence), status).toBe(true);
      expect((await ctx.load(runId)).run, status).toMatchObject({ status: 'failed', error: `from ${status}` });
    }
    const { runId } = await runIn('running');
    expect(await ctx.store().completeRun(runId, 'success', null, at(60), fence)).toBe(true);
    expect((await ctx.load(runId)).run).toMatchObject({ status: 'success', error: null });
  });

  it('completeRun refuses a finished run: the first outcome stands', async () => {
    for (const status of TERMINAL) {
      const { runId } = await runIn(status);
      const before = await ctx.load(runId);
      expect(await ctx.store().completeRun(runId, 'cancelled', 'late', at(60), fence), status).toBe(false);
      expect(await ctx.load(runId), status).toEqual(before);
    }
  });

  it('refuses (false, no throw) every run write for a run it does not have', async () => {
    const runId = randomUUID();
    expect(await ctx.store().markRunStarted(runId, at(1), fence)).toBe(false);
    expect(await ctx.store().markRunCancelling(runId, fence)).toBe(false);
    expect(await ctx.store().completeRun(runId, 'success', null, at(1), fence)).toBe(false);
  });

  it('updateJob writes every patch field, times as epoch ms, and touches no other job', async () => {
    const { runId, deploy, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    const patch: Required<JobPatch> = {
      status: 'success',
      needsSatisfied: true,
      agentId: 'agent-9',
      previousAgentId: 'agent-8',
      dispatchAttempts: 1,
      dispatchedAt: at(20_001),
      ackDeadline: at(30_002),
      ackedAt: at(20_503),
      recoveryDeadline: at(140_004),
      lastHeartbeatAt: at(25_005),
      startedAt: at(20_606),
      finishedAt: at(29_007),
      outputs: { url: 'https://example.test/x', n: '3' },
      error: 'none really',
      gate: { passed: ['wait-timer'], waiting: 'concurrency', reason: 'waiting', waitUntil: at(40_000), slots: [] },
    };
    expect(await ctx.store().updateJob(deploy, patch, { ...fence, expectStatus: 'pending' })).toBe(true);
    const after = await ctx.load(runId);
    expect(jobIn(after, deploy)).toEqual({ ...jobIn(before, deploy), ...patch });
    expect(jobIn(after, test20)).toEqual(jobIn(before, test20));
  });

  it('updateJob leaves fields the patch leaves undefined, and clears those it sets to null', async () => {
    const { runId, test22 } = await ctx.seed(sampleRun());
    const before = jobIn(await ctx.load(runId), test22);
    // The actor builds patches with optional parts; an undefined key means "not part of this write".
    const patch: JobPatch = { status: 'queued', agentId: null, previousAgentId: before.agentId, recoveryDeadline: null, error: undefined, ackedAt: undefined };
    expect(await ctx.store().updateJob(test22, patch, fence)).toBe(true);
    expect(jobIn(await ctx.load(runId), test22)).toEqual({ ...before, status: 'queued', agentId: null, previousAgentId: 'agent-3', recoveryDeadline: null });
  });

  it('updateJob with expectStatus writes only while the stored status is that one', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    expect(await ctx.store().updateJob(test20, { status: 'success', finishedAt: at(70) }, { ...fence, expectStatus: 'queued' })).toBe(false);
    expect(await ctx.load(runId)).toEqual(before);
    expect(await ctx.store().updateJob(test20, { status: 'success', finishedAt: at(70) }, { ...fence, expectStatus: 'running' })).toBe(true);
    expect(jobIn(await ctx.load(runId), test20)).toMatchObject({ status: 'success', finishedAt: at(70) });
  });

  it('updateJob without expectStatus writes whatever the stored status', async () => {
    const { runId, build } = await ctx.seed(sampleRun());
    expect(await ctx.store().updateJob(build, { lastHeartbeatAt: at(80) }, fence)).toBe(true);
    expect(jobIn(await ctx.load(runId), build)).toMatchObject({ status: 'success', lastHeartbeatAt: at(80) });
  });

  it('updateJob stores dispatchAttempts as written: the stored count plus one, each time', async () => {
    const { runId, test22 } = await ctx.seed(sampleRun());
    // As the actor requeues: read the count, write it plus one under the status it read.
    for (const expected of [2, 3]) {
      const stored = jobIn(await ctx.load(runId), test22);
      expect(stored.dispatchAttempts).toBe(expected - 1);
      const guard = { ...fence, expectStatus: stored.status };
      expect(await ctx.store().updateJob(test22, { status: 'queued', dispatchAttempts: stored.dispatchAttempts + 1 }, guard)).toBe(true);
      expect(jobIn(await ctx.load(runId), test22).dispatchAttempts).toBe(expected);
    }
  });

  it('updateJob refuses (false, no throw) a job it does not have', async () => {
    expect(await ctx.store().updateJob(randomUUID(), { status: 'queued' }, fence)).toBe(false);
  });

  it('updateStep writes status, exit code, error and times; null clears, undefined leaves alone', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    expect(await ctx.store().updateStep(test20, 0, { status: 'failed', exitCode: 2, error: 'lost', finishedAt: at(90) }, fence)).toBe(true);
    expect(stepIn(await ctx.load(runId), test20, 0)).toEqual({ ...stepIn(before, test20, 0), status: 'failed', exitCode: 2, error: 'lost', finishedAt: at(90) });
    expect(await ctx.store().updateStep(test20, 0, { exitCode: null, startedAt: undefined }, fence)).toBe(true);
    const after = await ctx.load(runId);
    expect(stepIn(after, test20, 0)).toEqual({ ...stepIn(before, test20, 0), status: 'failed', exitCode: null, error: 'lost', finishedAt: at(90) });
    expect(stepIn(after, test20, 1)).toEqual(stepIn(before, test20, 1));
  });

  it('updateStep refuses (false, no throw) a step the plan does not have, and writes nothing', async () => {
    const { runId, test20 } = await ctx.seed(sampleRun());
    const before = await ctx.load(runId);
    expect(await ctx.store().updateStep(test20, 7, { status: 'running' }, fence)).toBe(false);
    expect(await ctx.store().updateStep(randomUUID(), 0, { status: 'running' }, fence)).toBe(false);
    expect(await ctx.load(runId)).toEqual(before);
  });
}
