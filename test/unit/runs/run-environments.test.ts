/**
 * The RunActor puts a job naming `environments` through their protection gates before it is
 * dispatched: rejections fail it, a concurrency limit makes it wait for a slot in its group's
 * EnvGroupActor (cluster-wide, across runs), a wait timer delays it (and survives a restart), and
 * an ended job gives its slots back. Holds (reviewers) are in run-holds.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ORG, flush, harness } from './gated-runs.js';

describe('RunActor: environment gates', () => {
  it('fails a job its environment rejects by branch, with the reason, and skips its dependents', async () => {
    const h = harness();
    await h.env({ name: 'production', branchRestrictions: ['main', 'release/*'] });
    const deploy = h.addRun({ runId: 'r1', branch: 'dev', environments: ['production'], withDependent: true });
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', deploy).status).toBe('failed');
    expect(h.job('r1', deploy).error).toBe(
      "environment protection: branch 'dev' is not allowed in environment 'production' (branch restrictions: main, release/*)",
    );
    expect(h.job('r1', 'r1-after').status).toBe('skipped');
    expect(h.store.run('r1').run.status).toBe('failed');
    expect(h.dispatcher.dispatches).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('rejects a name that matches no environment instead of running it unprotected', async () => {
    const h = harness();
    const deploy = h.addRun({ runId: 'r1', environments: ['prodution'] });
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', deploy).error).toBe("environment protection: environment 'prodution' is not configured");
    expect(h.dispatcher.dispatches).toEqual([]);
  });

  it('dispatches a job whose environments all pass, as any job', async () => {
    const h = harness();
    await h.env({ name: 'staging' });
    const deploy = h.addRun({ runId: 'r1', environments: ['staging'] });
    await h.send('r1', { type: 'start' });
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([deploy]);
    await h.finish('r1', deploy);
    expect(h.store.run('r1').run.status).toBe('success');
  });

  it('limit 1 across two runs: the second waits for a slot and starts when the first ends, never both at once', async () => {
    const h = harness();
    await h.env({ name: 'production', concurrencyLimit: 1 });
    const a = h.addRun({ runId: 'r1', environments: ['production'] });
    const b = h.addRun({ runId: 'r2', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    await h.send('r2', { type: 'start' });
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([a]);
    expect(h.job('r2', b).status).toBe('pending');
    expect(h.job('r2', b).gate).toMatchObject({ waiting: 'concurrency', reason: "waiting for a slot in concurrency group 'production' (limit 1)" });
    expect(h.job('r2', b).gate!.slots).toMatchObject([{ group: 'production', state: 'waiting' }]);
    expect(h.job('r1', a).gate!.slots).toMatchObject([{ group: 'production', state: 'held' }]);
    expect(h.store.run('r1').run.environment).toBe('production');

    await h.finish('r1', a);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([a, b]);
    await h.finish('r2', b);
    await flush();
    expect(h.store.run('r2').run.status).toBe('success');
    expect(h.mostActive()).toBe(1);
    expect(await h.snapshot('production')).toMatchObject({ running: [], waiting: [] });
    expect(h.failures).toEqual([]);
  });

  it('a job waiting for a slot survives a restart: the group rebuilds from the jobs on record and the run asks again', async () => {
    const h = harness();
    await h.env({ name: 'production', concurrencyLimit: 1 });
    const a = h.addRun({ runId: 'r1', environments: ['production'] });
    const b = h.addRun({ runId: 'r2', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    await h.send('r2', { type: 'start' });
    await h.restart();
    // Both runs come back (as a shard gain activates them); the group knows nothing but the store.
    await h.send('r2', { type: 'resume' });
    await h.send('r1', { type: 'resume' });
    await flush();
    expect(h.dispatcher.of(b)).toEqual([]);
    expect(await h.snapshot('production')).toMatchObject({ running: [{ runId: 'r1', jobId: a }], waiting: [{ runId: 'r2', jobId: b }] });
    await h.finish('r1', a);
    await flush();
    expect(h.dispatcher.of(b)).toHaveLength(1);
    expect(h.mostActive()).toBe(1);
  });

  it('cancel-pending: a newer waiter replaces an older one, which ends cancelled with the reason', async () => {
    const h = harness();
    await h.env({ name: 'production', concurrencyLimit: 1, concurrencyStrategy: 'cancel-pending' });
    const a = h.addRun({ runId: 'r1', environments: ['production'] });
    const b = h.addRun({ runId: 'r2', environments: ['production'] });
    const c = h.addRun({ runId: 'r3', environments: ['production'] });
    for (const r of ['r1', 'r2', 'r3']) await h.send(r, { type: 'start' });
    await flush();
    expect(h.job('r2', b).status).toBe('cancelled');
    expect(h.job('r2', b).error).toBe(`cancel-pending: replaced by newer run r3 (job ${c}) in concurrency group 'production'`);
    expect(h.store.run('r2').run.status).toBe('cancelled');
    expect(h.job('r3', c).status).toBe('pending');
    await h.finish('r1', a);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([a, c]);
  });

  it('a job that ends gives its slot back: cancelling the holder lets the waiter go, and a stale admission is released', async () => {
    const h = harness();
    await h.env({ name: 'production', concurrencyLimit: 1 });
    const a = h.addRun({ runId: 'r1', environments: ['production'] });
    const b = h.addRun({ runId: 'r2', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    await h.send('r2', { type: 'start' });
    await h.send('r1', { type: 'cancel', force: true, reason: 'stop' });
    await flush();
    expect(h.job('r1', a).status).toBe('cancelled');
    expect(h.dispatcher.of(b)).toHaveLength(1);
    expect(await h.snapshot('production')).toMatchObject({ running: [{ runId: 'r2', jobId: b }] });
    // A notice that admitted r1's job arrives late: the run gives that slot straight back.
    await h.system().ref('env-group', JSON.stringify([ORG, 'production'])).ask({ type: 'request', runId: 'r1', jobId: a, limit: 2, strategy: 'queue' }, 1000);
    await h.send('r1', { type: 'env_slot', jobId: a, group: 'production', verdict: 'admitted' });
    await flush();
    expect((await h.snapshot('production')).running).toEqual([{ runId: 'r2', jobId: b }]);
  });

  it('wait timer: the job waits, then dispatches; a restart mid-wait resumes from the stored end', async () => {
    const h = harness();
    await h.env({ name: 'production', waitTimerSeconds: 60 });
    const deploy = h.addRun({ runId: 'r1', environments: ['production'] });
    const startedAt = h.clock.now();
    await h.send('r1', { type: 'start' });
    expect(h.dispatcher.dispatches).toEqual([]);
    expect(h.job('r1', deploy).gate).toMatchObject({ waiting: 'wait-timer', waitUntil: startedAt + 60_000 });

    h.clock.advance(40_000);
    await flush();
    await h.restart();
    await h.send('r1', { type: 'resume' });
    expect(h.job('r1', deploy).gate!.waitUntil).toBe(startedAt + 60_000);
    h.clock.advance(19_000);
    await flush();
    expect(h.dispatcher.dispatches).toEqual([]);
    h.clock.advance(1_000);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([deploy]);
    expect(h.job('r1', deploy).gate).toMatchObject({ passed: ['wait-timer'], waiting: null });
    expect(h.failures).toEqual([]);
  });

  it('a restart mid-wait keeps waiting even when the rules changed meanwhile; they are checked when the timer is done', async () => {
    const h = harness();
    const production = await h.env({ name: 'production', waitTimerSeconds: 60 });
    const deploy = h.addRun({ runId: 'r1', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    await h.envs.update(production.id, { requiredReviewers: ['alice'] }, new Date(h.clock.now()));
    await h.restart();
    await h.send('r1', { type: 'resume' });
    expect(h.job('r1', deploy).gate?.waiting).toBe('wait-timer');
    h.clock.advance(60_000);
    await flush();
    // Past its timer the job meets the reviewers it now needs: held, not dispatched.
    expect(h.job('r1', deploy).gate?.waiting).toBe('reviewers');
    expect(h.dispatcher.dispatches).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('a slot first, then the timer: the job holds its slot while it waits', async () => {
    const h = harness();
    await h.env({ name: 'production', concurrencyLimit: 1, waitTimerSeconds: 10 });
    const a = h.addRun({ runId: 'r1', environments: ['production'] });
    const b = h.addRun({ runId: 'r2', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    await h.send('r2', { type: 'start' });
    expect(h.job('r1', a).gate).toMatchObject({ passed: ['concurrency'], waiting: 'wait-timer' });
    expect(h.job('r2', b).gate).toMatchObject({ waiting: 'concurrency' });
    h.clock.advance(10_000);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([a]);
    await h.finish('r1', a);
    await flush();
    h.clock.advance(10_000);
    await flush();
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual([a, b]);
    expect(h.mostActive()).toBe(1);
  });
});
