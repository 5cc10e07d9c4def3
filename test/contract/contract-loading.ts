/**
 * loadRun: what the actor rebuilds its state from after every (re)activation. Every field it reads
 * must come back as written; unset optional fields come back as `null` — the contract's choice,
 * because that is what a database row gives, so the actor is tested against what it gets in
 * production and a fake cannot hide a `=== undefined` check that would never match there.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { type ContractContext, jobIn, stepIn } from './contract-context.js';
import {
  bareRun,
  byId,
  E,
  NULLABLE_JOB_FIELDS,
  NULLABLE_RUN_FIELDS,
  NULLABLE_STEP_FIELDS,
  sampleRun,
  sortedEdges,
  sortedSteps,
} from './run-store.fixtures.js';

export function loadingContract(ctx: ContractContext): void {
  it('round-trips every run, job, step and edge field the actor reads', async () => {
    const { loaded, runId } = await ctx.seed(sampleRun());
    const back = await ctx.load(runId);
    expect(back.run).toEqual(loaded.run);
    // Order is pinned separately (below); here only the contents.
    expect(byId(back.jobs)).toEqual(byId(loaded.jobs));
    expect(sortedSteps(back.steps)).toEqual(sortedSteps(loaded.steps));
    expect(sortedEdges(back.edges)).toEqual(sortedEdges(loaded.edges));
  });

  it('gives times as epoch milliseconds, to the millisecond', async () => {
    const { runId, build } = await ctx.seed(sampleRun());
    const back = await ctx.load(runId);
    expect(back.run.startedAt).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123));
    expect(typeof jobIn(back, build).ackedAt).toBe('number');
    expect(typeof stepIn(back, build, 0).finishedAt).toBe('number');
  });

  it('gives unset optional fields as null, never undefined or absent', async () => {
    const { runId, jobId } = await ctx.seed(bareRun());
    const back = await ctx.load(runId);
    const job = jobIn(back, jobId);
    const step = stepIn(back, jobId, 0);
    for (const field of NULLABLE_RUN_FIELDS.filter((f) => f !== 'sourceId')) expect(back.run[field], `run.${field}`).toBeNull();
    for (const field of NULLABLE_JOB_FIELDS) expect(job[field], `job.${field}`).toBeNull();
    for (const field of NULLABLE_STEP_FIELDS) expect(step[field], `step.${field}`).toBeNull();
    expect(back.run).toMatchObject({ status: 'pending', attempt: 1, ownerEpoch: E, orgId: 'org_contract', sourceId: 'src_contract' });
    expect(job).toMatchObject({ status: 'pending', needsSatisfied: true, dispatchAttempts: 0 });
  });

  it('gives jobs in plan order, not name order', async () => {
    const { runId, build, test20, test22, deploy } = await ctx.seed(sampleRun());
    const back = await ctx.load(runId);
    expect(back.jobs.map((j) => j.id)).toEqual([build, test20, test22, deploy]);
  });

  it('gives undefined for a run it does not have', async () => {
    expect(await ctx.store().loadRun(randomUUID())).toBeUndefined();
  });

  it('hands out a copy: the actor mutating what it loaded changes nothing stored', async () => {
    const { runId, build } = await ctx.seed(sampleRun());
    const first = await ctx.load(runId);
    first.run.status = 'failed';
    Object.assign(jobIn(first, build), { status: 'failed', outputs: { version: 'tampered' } });
    stepIn(first, build, 0).status = 'failed';
    const again = await ctx.load(runId);
    expect(again.run.status).toBe('running');
    expect(jobIn(again, build)).toMatchObject({ status: 'success', outputs: { version: '1.2.3', empty: '' } });
    expect(stepIn(again, build, 0).status).toBe('success');
  });
}
