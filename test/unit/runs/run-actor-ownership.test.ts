import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { ActorSystem } from '../../../src/actors/index.js';
import {
  MemoryRunStore,
  RECOVERY_EXPIRED_ERROR,
  RUN_ACTOR_KIND,
  runActorFactory,
  type RunMessage,
  type RunReply,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun, type PlanJob } from './run-fixtures.js';

const RUN = 'run-7';

function node(store: MemoryRunStore, dispatcher: RecordingDispatcher, clock: ManualClock, epoch = 1) {
  const system = new ActorSystem({ nodeId: 'n1', clock, shardMap: { ownerOf: () => ({ node: 'n1', epoch }) } });
  system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher }));
  const send = (msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 600_000);
  return { system, send };
}

function setup(jobs: PlanJob[]) {
  const clock = new ManualClock(5_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, jobs));
  const dispatcher = new RecordingDispatcher();
  return { clock, store, dispatcher };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('RunActor: fencing', () => {
  it('stops acting as owner once the store refuses its epoch', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    store.takeOver(RUN, 2);

    const reply = await n.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(reply).toEqual({ ok: false, ignored: 'another node owns this run now', moved: true });
    expect(store.job(RUN, 'a').status).toBe('running');
    expect(dispatcher.of('b')).toHaveLength(0);
    expect(store.completions).toHaveLength(0);
    // Every later message is refused without touching the store or the agents.
    const writesBefore = JSON.stringify(store.run(RUN));
    await expect(n.send({ type: 'stale', jobId: 'a' })).resolves.toEqual({ ok: false, ignored: 'another node owns this run now', moved: true });
    await expect(n.send({ type: 'start' })).resolves.toMatchObject({ ok: false });
    expect(JSON.stringify(store.run(RUN))).toBe(writesBefore);
    expect(dispatcher.cancels).toHaveLength(0);
  });

  it('refuses at activation when the store already shows a newer owner', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    store.takeOver(RUN, 3);
    const n = node(store, dispatcher, clock, 2);
    await expect(n.send({ type: 'start' })).resolves.toEqual({ ok: false, ignored: 'another node owns this run now', moved: true });
    expect(dispatcher.dispatches).toHaveLength(0);
    expect(store.run(RUN).run.status).toBe('pending');
  });

  it('stamps dispatches with the shard epoch it runs under', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    // The node gained the shard at epoch 4 and raised its row before acting.
    store.takeOver(RUN, 4);
    await node(store, dispatcher, clock, 4).send({ type: 'start' });
    expect(dispatcher.dispatches[0]!.epoch).toBe(4);
    expect(store.run(RUN).run.status).toBe('running');
  });

  it('does not act at an epoch its shard has not been raised to', async () => {
    // The shard is still at 1 (the gainer has not raised it): the store refuses epoch 2's writes.
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    await expect(node(store, dispatcher, clock, 2).send({ type: 'start' })).resolves.toEqual({ ok: false, ignored: 'another node owns this run now', moved: true });
    expect(dispatcher.dispatches).toHaveLength(0);
    expect(store.run(RUN).run.status).toBe('pending');
  });

  it('stops writing every run of the shard once the shard moves, runs it never wrote included', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    store.add(planRun('run-8', [{ id: 'x' }]));
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    store.takeOver(RUN, 2);
    const other = (msg: RunMessage) => n.system.ref<RunMessage>(RUN_ACTOR_KIND, 'run-8').ask<RunReply>(msg, 600_000);
    await expect(other({ type: 'start' })).resolves.toEqual({ ok: false, ignored: 'another node owns this run now', moved: true });
    expect(store.run('run-8').run.status).toBe('pending');
    expect(dispatcher.of('x')).toHaveLength(0);
  });

  it('adopts the stored state when another writer won a guarded write, without deposing itself', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'b', needs: [['a', ['failed', 'timed_out_stale']]] }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    // A stale scan elsewhere marked the job directly in the store (same epoch, guard on 'running').
    store.job(RUN, 'a').status = 'timed_out_stale';
    const reply = await n.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(reply).toEqual({ ok: false, ignored: 'the stored state changed' });
    expect(store.job(RUN, 'a').status).toBe('timed_out_stale');
    // It resumed from the store: the on-failure dependent was released.
    expect(dispatcher.of('b')).toHaveLength(1);
    await n.send({ type: 'job_finished', jobId: 'b', status: 'success', agentId: 'agent-1' });
    expect(store.run(RUN).run.status).toBe('failed');
  });
});

describe('RunActor: restart resumes from the store', () => {
  it('picks up a half-finished run in a new process without redoing finished work', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a'] }]);
    const first = node(store, dispatcher, clock);
    await first.send({ type: 'start' });
    await first.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    // Crash right after a's result was written but before its dependents were released.
    store.job(RUN, 'a').status = 'success';
    store.job(RUN, 'a').outputs = { k: 'v' };

    const second = node(store, dispatcher, clock);
    await second.send({ type: 'start' });
    expect(dispatcher.dispatches.map((d) => d.jobId)).toEqual(['a', 'b', 'c']);
    expect(dispatcher.of('b')[0]!.needs).toEqual({ a: { status: 'success', outputs: { k: 'v' }, children: {} } });
    await second.send({ type: 'job_finished', jobId: 'b', status: 'success', agentId: 'agent-1' });
    await second.send({ type: 'job_finished', jobId: 'c', status: 'success', agentId: 'agent-1' });
    expect(store.completions).toEqual([{ runId: RUN, status: 'success', error: null }]);
  });

  it('resumes on activation by any message, giving a recovering job a whole window from the restart', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    const first = node(store, dispatcher, clock);
    await first.send({ type: 'start' });
    await first.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await first.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    await first.system.shutdown();
    clock.advance(30_000);

    const second = node(store, dispatcher, clock);
    // Any message wakes it (here a heartbeat the record refuses); activation reloads and re-arms.
    await second.send({ type: 'job_heartbeat', jobId: 'a', agentId: 'agent-9' });
    // 30 s of the window had passed before the restart; the agent could not reach a node that was down.
    expect(store.job(RUN, 'a').recoveryDeadline).toBe(clock.now() + 120_000);
    clock.advance(119_999);
    await flush();
    expect(store.job(RUN, 'a').status).toBe('recovering');
    clock.advance(1);
    await flush();
    expect(store.job(RUN, 'a')).toMatchObject({ status: 'failed', error: RECOVERY_EXPIRED_ERROR });
    expect(store.completions).toHaveLength(1);
  });

  it('re-sends a dispatch that was queued but never assigned before the crash', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    dispatcher.choose = () => ({ status: 'queued' });
    const first = node(store, dispatcher, clock);
    await first.send({ type: 'start' });
    await first.system.shutdown();
    const second = node(store, dispatcher, clock);
    await second.send({ type: 'start' });
    expect(dispatcher.of('a').map((d) => d.attempt)).toEqual([1, 1]);
    expect(store.job(RUN, 'a').dispatchAttempts).toBe(1);
  });

  it('does not start a pending run on activation alone', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'job_heartbeat', jobId: 'a', agentId: 'agent-1' });
    expect(dispatcher.dispatches).toHaveLength(0);
    expect(store.run(RUN).run.status).toBe('pending');
  });
});

describe('RunActor: cancellation', () => {
  it('finishes an interrupted cancel after a restart: waiting jobs end cancelled, not dispatched', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c' }]);
    const loaded = store.run(RUN);
    loaded.run.status = 'cancelling';
    Object.assign(store.job(RUN, 'a'), { status: 'cancelled', needsSatisfied: true });
    Object.assign(store.job(RUN, 'c'), { status: 'queued', needsSatisfied: true, dispatchAttempts: 1 });
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    expect(dispatcher.dispatches).toHaveLength(0);
    expect([store.job(RUN, 'b').status, store.job(RUN, 'c').status]).toEqual(['cancelled', 'cancelled']);
    expect(store.completions).toEqual([{ runId: RUN, status: 'cancelled', error: null }]);
  });

  it('cancels gracefully: waiting jobs at once, running ones through cancelling', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'q' }, { id: 'b', needs: ['a'] }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await n.send({ type: 'cancel', reason: 'cancelled by admin' });
    expect(store.run(RUN).run.status).toBe('cancelling');
    expect(store.job(RUN, 'a').status).toBe('cancelling');
    expect(store.job(RUN, 'q').status).toBe('cancelled');
    expect(store.job(RUN, 'b').status).toBe('cancelled');
    expect(dispatcher.cancels.map((c) => [c.jobId, c.force])).toEqual([
      ['a', false],
      ['q', true],
    ]);
    await n.send({ type: 'job_finished', jobId: 'a', status: 'cancelled', agentId: 'agent-1' });
    expect(store.job(RUN, 'a').status).toBe('cancelled');
    expect(store.completions).toEqual([{ runId: RUN, status: 'cancelled', error: 'cancelled by admin' }]);
  });

  it('cancels the run with workflow_timeout once the workflow deadline passes, also after a restart', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    store.run(RUN).run.timeoutMs = 60_000;
    const first = node(store, dispatcher, clock);
    await first.send({ type: 'start' });
    await first.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await expect(first.send({ type: 'workflow_timeout' })).resolves.toMatchObject({ ok: false });
    await first.system.shutdown();
    clock.advance(30_000);

    const second = node(store, dispatcher, clock);
    await second.send({ type: 'job_heartbeat', jobId: 'a', agentId: 'agent-1' });
    clock.advance(29_999);
    await flush();
    expect(store.run(RUN).run.status).toBe('running');
    clock.advance(1);
    await flush();
    expect(store.run(RUN).run.status).toBe('cancelling');
    expect(dispatcher.cancels).toMatchObject([{ jobId: 'a', force: false, reason: 'workflow_timeout' }]);
    expect(store.job(RUN, 'b').status).toBe('cancelled');
    await second.send({ type: 'job_finished', jobId: 'a', status: 'cancelled', agentId: 'agent-1' });
    expect(store.completions).toEqual([{ runId: RUN, status: 'cancelled', error: 'workflow_timeout' }]);
  });

  it('force-cancels a running job at once', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await n.send({ type: 'cancel', force: true });
    expect(store.job(RUN, 'a').status).toBe('cancelled');
    expect(dispatcher.cancels).toMatchObject([{ jobId: 'a', force: true }]);
    expect(store.run(RUN).run.status).toBe('cancelled');
  });

  it('keeps a hook failure during a graceful cancel as a failure', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await n.send({ type: 'cancel' });
    await n.send({ type: 'job_finished', jobId: 'a', status: 'failed', error: 'cleanup failed', agentId: 'agent-1' });
    expect(store.run(RUN).run).toMatchObject({ status: 'failed', error: 'job "a" failed: cleanup failed' });
  });
});

describe('RunActor: a failing dispatcher', () => {
  it('retries a dispatch that threw, within the attempt budget, without crashing the actor', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    let failuresLeft = 2;
    dispatcher.choose = () => {
      if (failuresLeft-- > 0) throw new Error('directory unavailable');
      return { status: 'assigned', agentId: 'agent-3' };
    };
    const seen: unknown[] = [];
    const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => seen.push(f) });
    system.register(
      RUN_ACTOR_KIND,
      runActorFactory({ store, dispatcher, observer: { dispatcherFailed: (_r, _j, e) => seen.push((e as Error).message) } }),
    );
    const send = (msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 600_000);
    await expect(send({ type: 'start' })).resolves.toEqual({ ok: true });
    clock.advance(1_000);
    await flush();
    clock.advance(1_000);
    await flush();
    expect(dispatcher.of('a').map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-3', dispatchAttempts: 3 });
    expect(seen).toEqual(['directory unavailable', 'directory unavailable']);
  });

  it('fails the job once a dispatcher that keeps throwing has used the 5 attempts', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    dispatcher.choose = () => {
      throw new Error('down');
    };
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    for (let i = 0; i < 6; i++) {
      clock.advance(1_000);
      await flush();
    }
    expect(dispatcher.dispatches).toHaveLength(5);
    expect(store.job(RUN, 'a')).toMatchObject({
      status: 'failed',
      error: 'no agent took the job after 5 dispatch attempts (last: the dispatcher could not place the job)',
    });
    expect(store.run(RUN).run.status).toBe('failed');
  });

  it('treats cancel as best effort: a throwing cancel does not stop the run from finishing', async () => {
    const { clock, store, dispatcher } = setup([{ id: 'a' }]);
    dispatcher.cancel = () => {
      throw new Error('agent gone');
    };
    const n = node(store, dispatcher, clock);
    await n.send({ type: 'start' });
    await n.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await expect(n.send({ type: 'cancel', force: true })).resolves.toEqual({ ok: true });
    expect(store.run(RUN).run.status).toBe('cancelled');
  });
});
