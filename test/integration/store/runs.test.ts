import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { FencedWriteError, type NewRun, NotFoundError, STATEMENT_KINDS, type StatementKind, type Store } from '../../../src/store/index.js';
import { inOneTransaction, queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

interface Built {
  input: NewRun;
  build: string;
  test1: string;
  test2: string;
  deploy: string;
}

/** build → test (2 matrix children) → deploy. */
function newRun(orgId: string, extra: Partial<NewRun> = {}): Built {
  const build = randomUUID();
  const test1 = randomUUID();
  const test2 = randomUUID();
  const deploy = randomUUID();
  const job = (id: string, name: string, baseName: string, needsSatisfied: boolean, matrix: Record<string, unknown> | null = null) => ({
    id,
    name,
    baseName,
    matrix,
    config: { name: baseName, runsOn: ['linux'], steps: [{ name: 'a', run: 'echo a' }, { name: 'b', run: 'echo b' }] },
    needsSatisfied,
    steps: [{ name: 'a' }, { name: 'b' }],
  });
  return {
    build,
    test1,
    test2,
    deploy,
    input: {
      id: randomUUID(),
      orgId,
      sourceId: 'src_test',
      deliveryId: `del-${randomUUID()}`,
      workflowName: 'ci',
      shard: 42,
      event: { type: 'push', branch: 'main', changedFiles: ['a.ts'] },
      repoUrl: 'file:///tmp/repo.git',
      ref: 'refs/heads/main',
      sha: 'a'.repeat(40),
      branch: 'main',
      jobs: [
        job(build, 'build', 'build', true),
        job(test1, 'test (20)', 'test', false, { node: 20 }),
        job(test2, 'test (22)', 'test', false, { node: 22 }),
        job(deploy, 'deploy', 'deploy', false),
      ],
      needs: [
        { jobId: test1, upstreamJobId: build },
        { jobId: test2, upstreamJobId: build },
        { jobId: deploy, upstreamJobId: test1, runOn: ['success', 'failed'] },
        { jobId: deploy, upstreamJobId: test2, runOn: ['success', 'failed'] },
      ],
      ...extra,
    },
  };
}

/** The statements `work` sends, by kind (only the kinds it sent). */
async function statementsOf(store: Store, work: () => Promise<unknown>): Promise<Partial<Record<StatementKind, number>>> {
  const before = store.statements();
  await work();
  const after = store.statements();
  const byKind: Partial<Record<StatementKind, number>> = {};
  for (const kind of STATEMENT_KINDS) if (after.byKind[kind] !== before.byKind[kind]) byKind[kind] = after.byKind[kind] - before.byKind[kind];
  return byKind;
}

describeOnBothDrivers('runs', (store, driver) => {
  /** Until some statement of this database waits on a lock. */
  async function untilBlocked(): Promise<void> {
    for (;;) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted`.execute(queryBuilderOf(store()));
      if (rows[0]!.n > 0) return;
    }
  }

  // A cluster of one at start: every shard's fence row at epoch 1. Tests that move or drop a shard
  // use one no other test writes to (43–48).
  beforeAll(async () => {
    await store().shards.seed('node-a');
  });

  it('keeps for the run\'s actor exactly what a read from the database gives, carried-over jobs and steps included', async () => {
    const { input, build } = newRun(uniqueOrg());
    // A rerun's shape: one job carried over finished, with outputs, its steps as they ended.
    input.jobs[0] = { ...input.jobs[0]!, status: 'success', outputs: { version: '1.2.3', empty: '' }, finishedAt: new Date(T0.getTime() - 5), steps: [{ name: 'a', status: 'success', exitCode: 0 }, { name: 'b', status: 'failed', exitCode: 3 }] };
    input.concurrency = { group: 'ci-main', cancelInProgress: false, max: 1 };
    expect(await store().runs.create(input, 1, T0)).toEqual({ created: true, runId: input.id });
    const kept = await store().runs.load(input.id, { epoch: 1 });
    const read = await store().runs.load(input.id);
    expect(kept).toBeDefined();
    expect(kept).toEqual(read);
    expect(read?.jobs.find((j) => j.id === build)).toMatchObject({ status: 'success', outputs: { version: '1.2.3', empty: '' } });
  });

  it('creates a run with jobs, needs and steps in one go and loads it back', async () => {
    const { input, build, test1, deploy } = newRun(uniqueOrg());
    expect(await store().runs.create(input, 1, T0)).toEqual({ created: true, runId: input.id });
    const snapshot = await store().runs.load(input.id);
    expect(snapshot?.run).toMatchObject({
      id: input.id,
      status: 'pending',
      attempt: 1,
      shard: 42,
      ownerEpoch: 1,
      event: input.event,
      sha: 'a'.repeat(40),
      createdAt: T0,
      parentRunId: null,
    });
    expect(snapshot?.jobs.map((j) => j.name).sort()).toEqual(['build', 'deploy', 'test (20)', 'test (22)']);
    const buildJob = snapshot?.jobs.find((j) => j.id === build);
    expect(buildJob).toMatchObject({ status: 'pending', needsSatisfied: true, dispatchAttempts: 0, ownerEpoch: 1 });
    expect(snapshot?.jobs.find((j) => j.id === test1)?.matrix).toEqual({ node: 20 });
    expect(buildJob?.config).toEqual(input.jobs[0]!.config);
    expect(snapshot?.needs).toHaveLength(4);
    expect(snapshot?.needs.find((n) => n.jobId === test1)?.runOn).toEqual(['success']);
    expect(snapshot?.needs.filter((n) => n.jobId === deploy).map((n) => n.runOn)).toEqual([
      ['success', 'failed'],
      ['success', 'failed'],
    ]);
    expect(snapshot?.steps).toHaveLength(8);
    expect(snapshot?.steps.filter((s) => s.jobId === build).map((s) => [s.stepIndex, s.name, s.status])).toEqual([
      [0, 'a', 'pending'],
      [1, 'b', 'pending'],
    ]);
    expect(await store().runs.load(randomUUID())).toBeNull();
  });

  it('answers the first load at the creation epoch from what the creation wrote, exactly as a read back would', async () => {
    const { input } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    // Changed behind the store's back: a load answered from memory does not see it, a read does.
    await queryBuilderOf(store()).updateTable('runs').set({ error: 'changed underneath' }).where('id', '=', input.id).execute();
    const fromCreation = await store().runs.load(input.id, { epoch: 1 });
    const readBack = await store().runs.load(input.id);
    expect(fromCreation?.run.error).toBeNull();
    expect(readBack?.run.error).toBe('changed underneath');
    expect(fromCreation).toEqual({ ...readBack, run: { ...readBack!.run, error: null } });
    // Once only: the next load at the same epoch reads.
    expect((await store().runs.load(input.id, { epoch: 1 }))?.run.error).toBe('changed underneath');
  });

  it('reads a run created here back when the caller acts at another epoch than the creation', async () => {
    const { input } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    await queryBuilderOf(store()).updateTable('runs').set({ error: 'changed underneath' }).where('id', '=', input.id).execute();
    expect((await store().runs.load(input.id, { epoch: 2 }))?.run.error).toBe('changed underneath');
  });

  it('can create a run that failed at start, with its reason', async () => {
    const { input } = newRun(uniqueOrg(), { status: 'failed', error: 'jobs.build.environments: not supported yet', finishedAt: T0 });
    await store().runs.create({ ...input, jobs: [], needs: [] }, 1, T0);
    expect(await store().runs.get(input.id)).toMatchObject({
      status: 'failed',
      error: 'jobs.build.environments: not supported yet',
      finishedAt: T0,
    });
    expect((await store().runs.listNonTerminal()).map((r) => r.id)).not.toContain(input.id);
  });

  it('is all or nothing: a bad job rolls the whole run back', async () => {
    const { input } = newRun(uniqueOrg());
    input.needs.push({ jobId: input.jobs[0]!.id, upstreamJobId: randomUUID() }); // unknown upstream
    await expect(store().runs.create(input, 1, T0)).rejects.toThrow();
    expect(await store().runs.get(input.id)).toBeNull();
    expect(await store().jobs.list(input.id)).toEqual([]);
  });

  it('joins a caller\'s transaction: the outer rollback removes the run', async () => {
    const { input } = newRun(uniqueOrg());
    const outcome = inOneTransaction(store(), async (tx) => {
      expect((await tx.runs.create(input, 1, T0)).created).toBe(true);
      expect((await tx.runs.get(input.id))?.id).toBe(input.id);
      throw new Error('roll it back');
    });
    await expect(outcome).rejects.toThrow('roll it back');
    expect(await store().runs.get(input.id)).toBeNull();
  });

  it.skipIf(driver !== 'postgres')('a creator whose insert waited on another\'s uncommitted run of the same workflow names that run', async () => {
    const orgId = uniqueOrg();
    const first = newRun(orgId);
    const second = newRun(orgId, { deliveryId: first.input.deliveryId });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedFirst = new Promise<void>((resolve) => (inserted = resolve));
    const creating = inOneTransaction(store(), async (tx) => {
      expect(await tx.runs.create(first.input, 1, T0)).toEqual({ created: true, runId: first.input.id });
      inserted();
      await held;
    });
    await insertedFirst;
    // Its insert waits on the first's uncommitted row under the unique index, then gives way.
    const waiting = store().runs.create(second.input, 1, T0);
    await untilBlocked();
    release();
    await creating;
    expect(await waiting).toEqual({ created: false, runId: first.input.id });
  });

  it('two creators of one delivery\'s workflow at once: one run, and both name it', async () => {
    const orgId = uniqueOrg();
    const first = newRun(orgId);
    const second = newRun(orgId, { deliveryId: first.input.deliveryId });
    const results = await Promise.all([store().runs.create(first.input, 1, T0), store().runs.create(second.input, 1, T0)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)!.runId;
    expect(results.map((r) => r.runId)).toEqual([winner, winner]);
    expect((await store().runs.listForDelivery(orgId, first.input.deliveryId!)).map((r) => r.id)).toEqual([winner]);
  });

  it('takes a run whose texts hold half an emoji (a cut string): the half is stored as U+FFFD, as a text column would', async () => {
    const { input, build } = newRun(uniqueOrg());
    const half = '😀'.slice(0, 1);
    input.error = `cut here ${half}`;
    input.jobs[0] = { ...input.jobs[0]!, config: { name: `build ${half}`, steps: [] }, steps: [{ name: `step ${half}` }] };
    expect(await store().runs.create(input, 1, T0)).toEqual({ created: true, runId: input.id });
    const read = await store().runs.load(input.id);
    expect(read?.run.error).toBe('cut here \ufffd');
    expect(read?.jobs.find((j) => j.id === build)?.config).toEqual({ name: 'build \ufffd', steps: [] });
    expect(read?.steps.find((st) => st.jobId === build)?.name).toBe('step \ufffd');
    // A job write carrying such a half, batched or alone, is taken the same way.
    const writes = await Promise.all([
      store().jobs.write(build, 1, { error: `job ${half}` }),
      store().jobs.write(input.jobs[1]!.id, 1, { error: 'fine' }),
    ]);
    expect(writes).toEqual([true, true]);
    expect((await store().jobs.get(build))?.error).toBe('job \ufffd');
  });

  it('starts a workflow once per delivery; a rerun is a new run', async () => {
    const orgId = uniqueOrg();
    const first = newRun(orgId);
    await store().runs.create(first.input, 1, T0);
    const again = newRun(orgId, { deliveryId: first.input.deliveryId });
    expect(await store().runs.create(again.input, 1, at(1))).toEqual({ created: false, runId: first.input.id });
    expect(await store().runs.get(again.input.id)).toBeNull();

    const rerun = newRun(orgId, { deliveryId: first.input.deliveryId, parentRunId: first.input.id, attempt: 2 });
    expect((await store().runs.create(rerun.input, 1, at(2))).created).toBe(true);
    const other = newRun(orgId, { deliveryId: first.input.deliveryId, workflowName: 'lint' });
    expect((await store().runs.create(other.input, 1, at(3))).created).toBe(true);
    const forDelivery = await store().runs.listForDelivery(orgId, first.input.deliveryId!);
    expect(forDelivery.map((r) => [r.workflowName, r.attempt])).toEqual([
      ['ci', 1],
      ['ci', 2],
      ['lint', 1],
    ]);
  });

  it('fences every run, job and step write of a shard by its row: once raised, the old owner writes nothing', async () => {
    const org = uniqueOrg();
    const { input, build } = newRun(org, { shard: 43 });
    const untouched = newRun(org, { shard: 43 });
    await store().runs.create(input, 1, T0);
    await store().runs.create(untouched.input, 1, T0);
    expect((await store().runs.load(input.id))?.shardEpoch).toBe(1);

    // node-b gains shard 43 at epoch 3 and raises its row; it writes none of the shard's rows.
    expect(await store().shards.assign(43, 'node-b', 3)).toBe(true);
    for (const { input: run, build: job } of [{ input, build }, untouched]) {
      await expect(store().runs.update(run.id, 1, { status: 'running' })).rejects.toBeInstanceOf(FencedWriteError);
      await expect(store().jobs.updateStatus(job, 1, 'queued', at(1))).rejects.toBeInstanceOf(FencedWriteError);
      await expect(store().jobs.update(job, 1, { agentId: 'a1' })).rejects.toBeInstanceOf(FencedWriteError);
      await expect(store().steps.update(job, 0, 1, { status: 'running' })).rejects.toBeInstanceOf(FencedWriteError);
    }
    // An epoch above the row (a gainer that has not raised it yet) is refused too, and says so.
    const ahead = await store().runs.update(input.id, 4, { status: 'failed' }).catch((e: unknown) => e);
    expect(ahead).toMatchObject({ entity: 'run', epoch: 4, currentEpoch: 3 });
    await expect(store().steps.update(build, 0, 4, { status: 'running' })).rejects.toMatchObject({ entity: 'step', currentEpoch: 3 });
    // Creation in the shard is fenced the same way, and inserts nothing.
    const late = newRun(org, { shard: 43 });
    await expect(store().runs.create(late.input, 1, T0)).rejects.toMatchObject({ entity: 'run', epoch: 1, currentEpoch: 3 });
    expect(await store().runs.get(late.input.id)).toBeNull();
    // Nothing changed.
    expect((await store().runs.get(input.id))?.status).toBe('pending');
    expect((await store().jobs.get(build))).toMatchObject({ status: 'pending', agentId: null, ownerEpoch: 1 });
    expect((await store().steps.list(build))[0]?.status).toBe('pending');

    // The new owner writes at 3, creation included; owner_epoch records who wrote last.
    expect(await store().runs.update(input.id, 3, { status: 'running', startedAt: at(2) })).toBe(true);
    expect(await store().jobs.updateStatus(untouched.build, 3, 'queued', at(2))).toBe(true);
    expect(await store().steps.update(build, 0, 3, { status: 'running' })).toBe(true);
    expect((await store().runs.create(late.input, 3, T0)).created).toBe(true);
    expect((await store().jobs.get(untouched.build))?.ownerEpoch).toBe(3);
    expect((await store().runs.load(untouched.input.id))?.shardEpoch).toBe(3);
    // Other shards are not touched by the move.
    const elsewhere = newRun(org, { shard: 42 });
    await store().runs.create(elsewhere.input, 1, T0);
    expect(await store().runs.update(elsewhere.input.id, 1, { status: 'running' })).toBe(true);
  });

  it('refuses every write, creation included, for a shard that has no row', async () => {
    const { input, build } = newRun(uniqueOrg(), { shard: 44 });
    await store().runs.create(input, 1, T0);
    await queryBuilderOf(store()).deleteFrom('shards').where('shard', '=', 44).execute();
    expect((await store().runs.load(input.id))?.shardEpoch).toBeNull();
    await expect(store().runs.update(input.id, 1, {})).rejects.toMatchObject({ entity: 'run', currentEpoch: null });
    await expect(store().jobs.update(build, 1, {})).rejects.toMatchObject({ entity: 'job', currentEpoch: null });
    await expect(store().steps.update(build, 0, 1, { status: 'running' })).rejects.toMatchObject({ entity: 'step', currentEpoch: null });
    const other = newRun(uniqueOrg(), { shard: 44 });
    await expect(store().runs.create(other.input, 1, T0)).rejects.toBeInstanceOf(FencedWriteError);
    expect(await store().runs.get(other.input.id)).toBeNull();
    // A node that gains the shard creates its row when it raises it.
    expect(await store().shards.assign(44, 'node-b', 2)).toBe(true);
    expect(await store().runs.update(input.id, 2, { status: 'running' })).toBe(true);
  });

  // Two connections at once: only PostgreSQL has more than one (PGlite runs one statement at a time).
  it.runIf(driver === 'postgres')('a raise waits for a write that holds the shard\'s row, and a write that waited on a raise is refused', async () => {
    const { input, build } = newRun(uniqueOrg(), { shard: 45 });
    await store().runs.create(input, 1, T0);
    const settled = <T>(p: Promise<T>) => {
      const state = { done: false };
      void p.then(() => (state.done = true), () => (state.done = true));
      return state;
    };
    const pause = () => new Promise((resolve) => setTimeout(resolve, 150));

    // The old owner's write is in an open transaction: the raise waits for it to commit.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const write = inOneTransaction(store(), async (tx) => {
      expect(await tx.jobs.update(build, 1, { agentId: 'a1' })).toBe(true);
      await held;
    });
    await pause();
    const raise = store().shards.assign(45, 'node-b', 2);
    const raised = settled(raise);
    await pause();
    expect(raised.done).toBe(false);
    release();
    await write;
    expect(await raise).toBe(true);
    expect((await store().jobs.get(build))?.agentId).toBe('a1');

    // The raise is in an open transaction: a write at the old epoch waits, then is refused.
    let releaseRaise!: () => void;
    const raiseHeld = new Promise<void>((resolve) => (releaseRaise = resolve));
    const raising = inOneTransaction(store(), async (tx) => {
      expect(await tx.shards.assign(45, 'node-c', 3)).toBe(true);
      await raiseHeld;
    });
    await pause();
    const late = store().jobs.update(build, 2, { agentId: 'a2' });
    const lateDone = settled(late);
    await pause();
    expect(lateDone.done).toBe(false);
    releaseRaise();
    await raising;
    await expect(late).rejects.toMatchObject({ entity: 'job', epoch: 2, currentEpoch: 3 });
    expect((await store().jobs.get(build))?.agentId).toBe('a1');
  });

  it('refuses a step write that changes nothing, alone or in a group commit alike', async () => {
    const { input, build } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    await expect(store().steps.update(build, 0, 1, {})).rejects.toThrow('a step write must change at least one field');
    await expect(store().steps.write(build, 0, 1, { error: undefined })).rejects.toThrow('a step write must change at least one field');
  });

  it('reports missing rows as NotFoundError', async () => {
    await expect(store().runs.update(randomUUID(), 1, { status: 'running' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store().jobs.update(randomUUID(), 1, { agentId: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store().steps.update(randomUUID(), 0, 1, { status: 'running' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('applies status guards: false when the row moved on', async () => {
    const { input, build } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    expect(await store().runs.update(input.id, 1, { status: 'running' }, { expectedStatus: 'pending' })).toBe(true);
    expect(await store().runs.update(input.id, 1, { status: 'running' }, { expectedStatus: 'pending' })).toBe(false);
    expect(
      await store().runs.update(input.id, 1, { status: 'success', finishedAt: at(9) }, { expectedStatus: ['running', 'cancelling'] }),
    ).toBe(true);

    expect(await store().jobs.updateStatus(build, 1, 'running', at(1), { expectedStatus: 'queued' })).toBe(false);
    expect(await store().steps.update(build, 0, 1, { status: 'success' }, { expectedStatus: 'running' })).toBe(false);
    expect(await store().steps.update(build, 0, 1, { status: 'running', startedAt: at(1) }, { expectedStatus: 'pending' })).toBe(true);
    expect(await store().steps.update(build, 0, 1, { status: 'success', exitCode: 0, logBytes: 12, finishedAt: at(2) })).toBe(true);
    expect((await store().steps.list(build))[0]).toMatchObject({ status: 'success', exitCode: 0, logBytes: 12, startedAt: at(1), finishedAt: at(2) });
  });

  it('walks a job through dispatch, ack, heartbeats and completion', async () => {
    const { input, build } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    expect(
      await store().jobs.update(build, 1, {
        status: 'queued',
        agentId: 'agent-1',
        addDispatchAttempts: 1,
        dispatchedAt: at(1),
        ackDeadline: at(10_001),
      }),
    ).toBe(true);
    expect(await store().jobs.update(build, 1, { addDispatchAttempts: 1 })).toBe(true);
    expect((await store().jobs.get(build))?.dispatchAttempts).toBe(2);

    // Heartbeats count only while the job runs: the guard refuses one before it started.
    expect(await store().jobs.update(build, 1, { lastHeartbeatAt: at(2) }, { expectedStatus: 'running' })).toBe(false);
    expect(await store().jobs.updateStatus(build, 1, 'running', at(3), { expectedStatus: ['queued'] })).toBe(true);
    expect(await store().jobs.update(build, 1, { lastHeartbeatAt: at(50) }, { expectedStatus: 'running' })).toBe(true);
    let job = await store().jobs.get(build);
    expect(job).toMatchObject({ status: 'running', startedAt: at(3), lastHeartbeatAt: at(50) });

    // Back from recovery: started_at is kept.
    expect(await store().jobs.updateStatus(build, 1, 'recovering', at(60))).toBe(true);
    expect(await store().jobs.updateStatus(build, 1, 'running', at(70), { expectedStatus: 'recovering' })).toBe(true);
    job = await store().jobs.get(build);
    expect(job?.startedAt).toEqual(at(3));

    expect(await store().jobs.updateStatus(build, 1, 'success', at(80), { outputs: { build: { version: '1.2.3' } } })).toBe(true);
    job = await store().jobs.get(build);
    expect(job).toMatchObject({ status: 'success', finishedAt: at(80), outputs: { build: { version: '1.2.3' } } });
    expect(await store().jobs.update(build, 1, { lastHeartbeatAt: at(90) }, { expectedStatus: 'running' })).toBe(false);
  });

  it('marks stale jobs only while they are still running', async () => {
    const { input, build, test1 } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    await store().jobs.updateStatus(build, 1, 'running', at(0));
    await store().jobs.update(build, 1, { lastHeartbeatAt: at(1000) });
    await store().jobs.updateStatus(test1, 1, 'running', at(0));
    await store().jobs.update(test1, 1, { lastHeartbeatAt: null });

    const stale = (await store().jobs.listStaleRunning(at(120_000))).filter((j) => j.runId === input.id);
    expect(stale.map((j) => j.id).sort()).toEqual([build, test1].sort());
    expect((await store().jobs.listStaleRunning(at(500))).filter((j) => j.runId === input.id).map((j) => j.id)).toEqual([test1]);
    expect((await store().jobs.listStaleRunning(at(120_000), { createdAfter: T0 })).filter((j) => j.runId === input.id)).toEqual([]);

    await store().jobs.updateStatus(test1, 1, 'success', at(130_000));
    // A stale mark is guarded on `running`: a job that finished first keeps its result.
    const markStale = (jobId: string, reason: string) =>
      store().jobs.updateStatus(jobId, 1, 'timed_out_stale', at(130_001), { expectedStatus: 'running', error: reason });
    expect(await markStale(test1, 'no heartbeat')).toBe(false);
    expect(await markStale(build, 'no heartbeat for 120 s')).toBe(true);
    expect(await store().jobs.get(build)).toMatchObject({ status: 'timed_out_stale', error: 'no heartbeat for 120 s', finishedAt: at(130_001) });
    expect((await store().jobs.get(test1))?.status).toBe('success');
  });

  it('finds overdue recoveries and acks', async () => {
    const { input, build, test1, test2 } = newRun(uniqueOrg());
    await store().runs.create(input, 1, T0);
    await store().jobs.update(build, 1, { status: 'recovering', recoveryDeadline: at(100) });
    await store().jobs.update(test1, 1, { status: 'queued', agentId: 'a', ackDeadline: at(50) });
    await store().jobs.update(test2, 1, { status: 'queued', agentId: 'a', ackDeadline: at(50), ackedAt: at(10) });
    const mine = <T extends { runId: string }>(jobs: T[]) => jobs.filter((j) => j.runId === input.id);
    expect(mine(await store().jobs.listOverdueRecoveries(at(99)))).toEqual([]);
    expect(mine(await store().jobs.listOverdueRecoveries(at(100))).map((j) => j.id)).toEqual([build]);
    expect(mine(await store().jobs.listOverdueAcks(at(50))).map((j) => j.id)).toEqual([test1]);
    expect(mine(await store().jobs.listByStatus('queued', { runId: input.id })).map((j) => j.id).sort()).toEqual([test1, test2].sort());
    expect(mine(await store().jobs.listByStatus(['queued', 'recovering'], { agentId: 'a' })).length).toBe(2);
    expect((await store().jobs.listNeeds(input.id)).length).toBe(4);
  });

  it('lists runs newest first and the non-terminal ones by shard', async () => {
    const orgId = uniqueOrg();
    const a = newRun(orgId, { shard: 200 });
    const b = newRun(orgId, { shard: 201 });
    const c = newRun(orgId, { shard: 200 });
    await store().runs.create(a.input, 1, at(1));
    await store().runs.create(b.input, 1, at(2));
    await store().runs.create(c.input, 1, at(3));
    await store().runs.update(c.input.id, 1, { status: 'success', finishedAt: at(4) });
    await store().runs.update(b.input.id, 1, { status: 'held' });

    expect((await store().runs.list({ orgId })).map((r) => r.id)).toEqual([c.input.id, b.input.id, a.input.id]);
    expect((await store().runs.list({ orgId, status: 'success' })).map((r) => r.id)).toEqual([c.input.id]);
    expect((await store().runs.list({ orgId, before: at(3), limit: 1 })).map((r) => r.id)).toEqual([b.input.id]);

    const live = (await store().runs.listNonTerminal()).filter((r) => r.orgId === orgId);
    expect(live.map((r) => r.id)).toEqual([a.input.id, b.input.id]);
    const shard200 = (await store().runs.listNonTerminal({ shards: [200] })).filter((r) => r.orgId === orgId);
    expect(shard200.map((r) => r.id)).toEqual([a.input.id]);
    expect(await store().runs.listNonTerminal({ shards: [] })).toEqual([]);
  });

  it('lists the unfinished runs of one concurrency group, oldest first', async () => {
    const orgId = uniqueOrg();
    const sourceId = `src_${orgId}`;
    const prod = { group: 'prod', cancelInProgress: false, max: 1 };
    const created = async (ms: number, extra: Partial<NewRun>) => {
      const { input } = newRun(orgId, { sourceId, workflowName: 'deploy', concurrency: prod, ...extra });
      await store().runs.create(input, 1, at(ms));
      return input.id;
    };
    const second = await created(2, {});
    const first = await created(1, {});
    const done = await created(3, {});
    await store().runs.update(done, 1, { status: 'success', finishedAt: at(4) });
    await created(5, { concurrency: { ...prod, group: 'staging' } });
    await created(6, { workflowName: 'release' });
    await created(7, { sourceId: `${sourceId}_other` });
    await created(8, { concurrency: null });

    const group = { sourceId, workflowName: 'deploy', group: 'prod' };
    const runs = await store().runs.listNonTerminal({ group });
    expect(runs.map((r) => r.id)).toEqual([first, second]);
    expect(runs[0]!.concurrency).toEqual(prod);
    expect(await store().runs.listNonTerminal({ group: { ...group, sourceId: null } })).toEqual([]);
  });

  describe('a delivery\'s runs and outcome (createForDelivery)', () => {
    /** A `received` delivery, and `count` runs of it (workflows w0, w1…) on the shards given. */
    async function delivery(shards: number[]) {
      const orgId = uniqueOrg();
      const deliveryId = `del-${randomUUID()}`;
      await store().deliveries.record(
        { orgId, deliveryId, sourceId: 'src_test', sourceKind: 'git', eventType: 'push', headers: {}, body: Buffer.from('{}') },
        T0,
      );
      const runs = shards.map((shard, i) => newRun(orgId, { deliveryId, shard, workflowName: `w${i}` }));
      return { orgId, deliveryId, runs };
    }
    const outcome = { status: 'processed' as const, matchedCount: 3, trace: { summary: 'three matched' } };

    it('creates every run and records the outcome in one transaction, one statement locking all shards', async () => {
      const { orgId, deliveryId, runs } = await delivery([42, 200, 42]);
      let result: Awaited<ReturnType<Store['runs']['createForDelivery']>> | undefined;
      const sent = await statementsOf(store(), async () => {
        result = await store().runs.createForDelivery({ orgId, deliveryId, runs: runs.map((r) => ({ run: r.input, epoch: 1 })), outcome }, at(5));
      });
      expect(result).toEqual({ recorded: true, runs: runs.map((r) => ({ created: true, runId: r.input.id })) });
      // One statement: the shard rows (42 and 200) locked, the outcome, and every run with its jobs, needs and steps.
      expect(sent).toEqual({ with: 1 });
      expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'processed', matchedCount: 3, trace: outcome.trace, processedAt: at(5) });
      expect((await store().runs.listForDelivery(orgId, deliveryId)).map((r) => [r.workflowName, r.shard, r.createdAt])).toEqual([
        ['w0', 42, at(5)],
        ['w1', 200, at(5)],
        ['w2', 42, at(5)],
      ]);
      // Each run's first load at its creation epoch is answered from what the creation wrote.
      for (const { input } of runs) {
        const load = await statementsOf(store(), () => store().runs.load(input.id, { epoch: 1 }));
        expect(load).toEqual({});
      }
    });

    it('writes nothing when a shard is fenced off: no run, the delivery still received', async () => {
      const { orgId, deliveryId, runs } = await delivery([42, 47, 200]);
      expect(await store().shards.assign(47, 'node-b', 2)).toBe(true);
      const write = store().runs.createForDelivery({ orgId, deliveryId, runs: runs.map((r) => ({ run: r.input, epoch: 1 })), outcome }, at(5));
      await expect(write).rejects.toMatchObject({ name: 'FencedWriteError', entity: 'run', id: runs[1]!.input.id, epoch: 1, currentEpoch: 2 });
      expect(await store().runs.listForDelivery(orgId, deliveryId)).toEqual([]);
      expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'received', processedAt: null });
      for (const { input } of runs) expect(await store().runs.load(input.id, { epoch: 1 })).toBeNull();
    });

    it('completes a resumed delivery whose runs exist without creating any again', async () => {
      const { orgId, deliveryId, runs } = await delivery([42, 200]);
      // A crash between the runs and the outcome (as before runs and outcome were written together).
      await store().runs.create(runs[0]!.input, 1, T0);
      const resumed = [newRun(orgId, { deliveryId, workflowName: 'w0' }), newRun(orgId, { deliveryId, shard: 200, workflowName: 'w1' })];
      const result = await store().runs.createForDelivery({ orgId, deliveryId, runs: resumed.map((r) => ({ run: r.input, epoch: 1 })), outcome }, at(5));
      expect(result).toEqual({
        recorded: true,
        runs: [
          { created: false, runId: runs[0]!.input.id },
          { created: true, runId: resumed[1]!.input.id },
        ],
      });
      expect((await store().runs.listForDelivery(orgId, deliveryId)).map((r) => r.id).sort()).toEqual([runs[0]!.input.id, resumed[1]!.input.id].sort());
      expect(await store().runs.get(resumed[0]!.input.id)).toBeNull();
      expect((await store().deliveries.get(orgId, deliveryId))?.status).toBe('processed');

      // Processed: a second processor of it writes nothing at all.
      const late = [newRun(orgId, { deliveryId, workflowName: 'w9' })];
      expect(await store().runs.createForDelivery({ orgId, deliveryId, runs: late.map((r) => ({ run: r.input, epoch: 1 })), outcome: { status: 'failed', error: 'late' } }, at(6))).toEqual({
        recorded: false,
        runs: [],
      });
      expect(await store().runs.get(late[0]!.input.id)).toBeNull();
      expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'processed', processedAt: at(5) });
    });

    describe('with the push it brought, claimed in the same statement', () => {
      const source = () => `src_${randomUUID().slice(0, 8)}`;
      const pushOf = (sourceId: string, sha = 'a'.repeat(40)) => ({ sourceId, ref: 'refs/heads/main', sha, advanceTip: true });

      it('writes the runs of the delivery that claims the push first; another of the same push writes nothing and learns the owner', async () => {
        const push = pushOf(source());
        const first = await delivery([42]);
        let result: Awaited<ReturnType<Store['runs']['createForDelivery']>> | undefined;
        const sent = await statementsOf(store(), async () => {
          result = await store().runs.createForDelivery({ ...first, runs: first.runs.map((r) => ({ run: r.input, epoch: 1 })), outcome, push }, at(5));
        });
        expect(result).toEqual({ recorded: true, runs: [{ created: true, runId: first.runs[0]!.input.id }] });
        expect(sent).toEqual({ with: 1 });
        expect((await store().refTips.get(push.sourceId, push.ref))?.sha).toBe(push.sha);

        // The same push under another delivery id (a spooled copy, a reconcile): nothing written.
        const second = await delivery([42]);
        expect(await store().runs.createForDelivery({ ...second, runs: second.runs.map((r) => ({ run: r.input, epoch: 1 })), outcome, push }, at(6))).toEqual({
          recorded: false,
          runs: [],
          pushOwner: first.deliveryId,
        });
        expect(await store().runs.get(second.runs[0]!.input.id)).toBeNull();
        expect((await store().deliveries.get(second.orgId, second.deliveryId))?.status).toBe('received');
        expect(await store().refTips.claimPush(push.sourceId, push.ref, push.sha, 'another', at(7))).toBe(first.deliveryId);

        // The owner resumed after its outcome was recorded: nothing again, and no owner to report.
        expect(await store().runs.createForDelivery({ ...first, runs: [], outcome, push }, at(8))).toEqual({ recorded: false, runs: [] });
      });

      it('claims the push of an outcome without runs (a commit without a lock file) in one statement', async () => {
        const push = pushOf(source());
        const { orgId, deliveryId } = await delivery([]);
        const sent = await statementsOf(store(), async () => {
          expect(await store().runs.createForDelivery({ orgId, deliveryId, runs: [], outcome: { status: 'lockfile_missing', matchedCount: 0 }, push }, at(5))).toEqual({ recorded: true, runs: [] });
        });
        expect(sent).toEqual({ with: 1 });
        expect((await store().deliveries.get(orgId, deliveryId))?.status).toBe('lockfile_missing');
        expect(await store().refTips.claimPush(push.sourceId, push.ref, push.sha, 'another', at(6))).toBe(deliveryId);
      });

      it('a fenced creation claims nothing: the push stays free for the owner of the shard', async () => {
        const push = pushOf(source());
        const { orgId, deliveryId, runs } = await delivery([48]);
        expect(await store().shards.assign(48, 'node-b', 2)).toBe(true);
        const write = store().runs.createForDelivery({ orgId, deliveryId, runs: runs.map((r) => ({ run: r.input, epoch: 1 })), outcome, push }, at(5));
        await expect(write).rejects.toMatchObject({ name: 'FencedWriteError' });
        expect(await store().refTips.get(push.sourceId, push.ref)).toBeNull();
        expect(await store().refTips.claimPush(push.sourceId, push.ref, push.sha, 'another', at(6))).toBe('another');
      });

      it.skipIf(driver !== 'postgres')('a claim committed after the statement began is reported as an owner not seen (null), and nothing is written', async () => {
        const push = pushOf(source());
        const { orgId, deliveryId, runs } = await delivery([42]);
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let claimed!: () => void;
        const claimedFirst = new Promise<void>((resolve) => (claimed = resolve));
        const claiming = inOneTransaction(store(), async (tx) => {
          expect(await tx.refTips.claimPush(push.sourceId, push.ref, push.sha, 'hook-1', at(1))).toBe('hook-1');
          claimed();
          await held;
        });
        await claimedFirst;
        const waiting = store().runs.createForDelivery({ orgId, deliveryId, runs: runs.map((r) => ({ run: r.input, epoch: 1 })), outcome, push }, at(5));
        await untilBlocked();
        release();
        await claiming;
        expect(await waiting).toEqual({ recorded: false, runs: [], pushOwner: null });
        expect(await store().runs.get(runs[0]!.input.id)).toBeNull();
        expect((await store().deliveries.get(orgId, deliveryId))?.status).toBe('received');
      });
    });

    it('records an outcome without runs in one statement', async () => {
      const { orgId, deliveryId } = await delivery([]);
      const sent = await statementsOf(store(), () => store().runs.createForDelivery({ orgId, deliveryId, runs: [], outcome: { status: 'processed', matchedCount: 0 } }, at(5)));
      expect(sent).toEqual({ update: 1 });
      expect((await store().deliveries.get(orgId, deliveryId))?.status).toBe('processed');
    });
  });
});
