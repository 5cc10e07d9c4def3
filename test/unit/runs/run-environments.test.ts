/**
 * The RunActor puts a job naming `environments` through their protection gates before it is
 * dispatched: rejections fail it, a concurrency limit makes it wait for a slot in its group's
 * EnvGroupActor (cluster-wide, across runs), a wait timer delays it (and survives a restart), a
 * hold fails it until approvals exist, and an ended job gives its slots back.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  MemoryEnvironmentStore,
  envGroupRef,
  registerEnvGroupActor,
  type EnvGroupMessage,
  type EnvGroupSnapshot,
  type NewEnvironment,
} from '../../../src/environments/index.js';
import { MemoryRunStore, RUN_ACTOR_KIND, runActorFactory, runRef, type EnvironmentGatePorts, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

const ORG = 'acme';

interface GatedPlan {
  runId: string;
  branch?: string;
  environments?: string[];
  concurrencyGroup?: string;
  /** A second job needing the gated one. */
  withDependent?: boolean;
}

function harness() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  const envs = new MemoryEnvironmentStore();
  const dispatcher = new RecordingDispatcher();
  const failures: ActorFailure[] = [];
  /** Gated jobs dispatched and not ended, at every change: never above the limit. */
  const active = new Set<string>();
  let mostActive = 0;
  const boot = () => {
    const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => failures.push(f), shardMap: { ownerOf: () => ({ node: 'n1', epoch: 1 }) } });
    const group = (orgId: string, name: string) => envGroupRef(system, { orgId, group: name });
    registerEnvGroupActor(system, {
      notify: (g, n) => runRef(system, n.runId).tell({ type: 'env_slot', jobId: n.jobId, group: g.group, verdict: n.verdict, reason: n.reason }),
      load: (g) => store.environmentSlots(g.orgId, g.group),
    });
    const environments: EnvironmentGatePorts = {
      list: (orgId) => envs.list(orgId),
      request: (orgId, name, r) => group(orgId, name).ask({ type: 'request', ...r }, 60_000),
      release: (orgId, name, job) => group(orgId, name).tell({ type: 'release', ...job }),
    };
    const observer = {
      jobChanged: (_run: unknown, job: { id: string; status: string }) => {
        if (job.status === 'queued' || job.status === 'running') active.add(job.id);
        else active.delete(job.id);
        mostActive = Math.max(mostActive, active.size);
      },
    };
    system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, environments, observer }));
    return system;
  };
  let system = boot();
  const send = (runId: string, msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, runId).ask<RunReply>(msg, 600_000);
  const env = (input: Omit<NewEnvironment, 'orgId'>) => envs.create({ orgId: ORG, ...input }, new Date(clock.now()));
  const addRun = (p: GatedPlan) => {
    const deploy = `${p.runId}-deploy`;
    const plan = planRun(p.runId, [{ id: deploy }, ...(p.withDependent ? [{ id: `${p.runId}-after`, needs: [deploy] }] : [])]);
    const branch = p.branch ?? 'main';
    Object.assign(plan.run, { orgId: ORG, branch, event: { type: 'push', branch, repo: 'acme/app' } });
    Object.assign(plan.jobs[0]!.config as object, { environments: p.environments, concurrencyGroup: p.concurrencyGroup });
    store.add(plan);
    return deploy;
  };
  const job = (runId: string, jobId: string) => store.job(runId, jobId);
  const finish = async (runId: string, jobId: string) => {
    await send(runId, { type: 'job_started', jobId, agentId: 'agent-1' });
    return send(runId, { type: 'job_finished', jobId, status: 'success', agentId: 'agent-1' });
  };
  const snapshot = (name: string) => system.ref<EnvGroupMessage>('env-group', JSON.stringify([ORG, name])).ask<EnvGroupSnapshot>({ type: 'snapshot' }, 1000);
  const restart = async () => {
    await system.shutdown();
    system = boot();
  };
  return {
    clock,
    store,
    dispatcher,
    failures,
    env,
    addRun,
    send,
    job,
    finish,
    snapshot,
    restart,
    mostActive: () => mostActive,
    system: () => system,
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
}

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

  it('fails a job whose environment requires reviewers: approvals are not built yet, and it never runs ungated', async () => {
    const h = harness();
    await h.env({ name: 'production', requiredReviewers: ['bob', 'alice'] });
    const deploy = h.addRun({ runId: 'r1', environments: ['production'] });
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', deploy).status).toBe('failed');
    expect(h.job('r1', deploy).error).toBe(
      "environment protection: environment 'production' requires reviewers (alice, bob); approvals are not available in this build yet",
    );
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
