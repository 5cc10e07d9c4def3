import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import {
  MemoryRunStore,
  registerRunActor,
  runRef,
  tellRunsAgentLost,
  type JobPatch,
  type JobWriteGuard,
  type RunReply,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function node(store: MemoryRunStore, dispatcher = new RecordingDispatcher()) {
  const clock = new ManualClock(0);
  const failures: ActorFailure[] = [];
  const system = new ActorSystem({ nodeId: 'n1', clock, idleTimeoutMs: 30_000, onError: (f) => failures.push(f) });
  registerRunActor(system, { store, dispatcher });
  return { clock, system, dispatcher, failures };
}

describe('RunActor lifecycle in the actor system', () => {
  it('stays active while the run is open, passivates once it is finished, and ignores late news after', async () => {
    const store = new MemoryRunStore();
    store.add(planRun('r1', [{ id: 'a' }]));
    const { clock, system } = node(store);
    const run = runRef(system, 'r1');
    await run.ask({ type: 'start' }, 1_000);
    await run.ask({ type: 'job_started', jobId: 'a', agentId: 'agent-1' }, 1_000);
    await flush();
    clock.advance(120_000);
    await flush();
    expect(system.isActive('run', 'r1')).toBe(true);
    await run.ask({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' }, 1_000);
    await flush();
    clock.advance(30_000);
    await flush();
    expect(system.isActive('run', 'r1')).toBe(false);
    const loadsBefore = store.loads;
    await expect(run.ask<RunReply>({ type: 'job_finished', jobId: 'a', status: 'failed', agentId: 'agent-1' }, 1_000)).resolves.toEqual({
      ok: false,
      ignored: 'job is already success',
    });
    expect(store.loads).toBe(loadsBefore + 1);
    expect(store.completions).toHaveLength(1);
  });

  it('answers for a run the store does not know without writing anything', async () => {
    const store = new MemoryRunStore();
    const { system } = node(store);
    await expect(runRef(system, 'ghost').ask({ type: 'start' }, 1_000)).resolves.toEqual({ ok: false, ignored: 'unknown run' });
  });

  it('is restarted by supervision after a store failure and carries on from the store', async () => {
    class FlakyStore extends MemoryRunStore {
      failNext = false;
      override async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
        if (this.failNext) {
          this.failNext = false;
          throw new Error('connection reset');
        }
        return super.updateJob(jobId, patch, guard);
      }
    }
    const store = new FlakyStore();
    store.add(planRun('r2', [{ id: 'a' }, { id: 'b', needs: ['a'] }]));
    const { clock, system, dispatcher, failures } = node(store);
    const run = runRef(system, 'r2');
    await run.ask({ type: 'start' }, 1_000);
    await run.ask({ type: 'job_started', jobId: 'a', agentId: 'agent-1' }, 1_000);
    store.failNext = true;
    await expect(run.ask({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' }, 1_000)).rejects.toThrow(
      'connection reset',
    );
    expect(failures).toHaveLength(1);
    expect(store.job('r2', 'a').status).toBe('running');
    // The sender retries (the agent's outbox re-sends an unanswered terminal status).
    const retry = run.ask({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' }, 10_000);
    clock.advance(100);
    await expect(retry).resolves.toEqual({ ok: true });
    expect(store.job('r2', 'a').status).toBe('success');
    expect(dispatcher.of('b')).toHaveLength(1);
  });

  it('picks itself up after a crash mid-decision, without waiting for another message', async () => {
    class FailOnceFor extends MemoryRunStore {
      armed = true;
      override async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
        if (this.armed && jobId === 'b') {
          this.armed = false;
          throw new Error('deadlock detected');
        }
        return super.updateJob(jobId, patch, guard);
      }
    }
    const store = new FailOnceFor();
    store.add(planRun('r5', [{ id: 'a' }, { id: 'b', needs: ['a'] }]));
    const { clock, system, dispatcher, failures } = node(store);
    const run = runRef(system, 'r5');
    await run.ask({ type: 'start' }, 1_000);
    await expect(run.ask({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' }, 1_000)).rejects.toThrow(
      'deadlock detected',
    );
    expect(failures).toHaveLength(1);
    expect(store.job('r5', 'a').status).toBe('success');
    // b's queueing is written with its placement, which failed: nothing of b was recorded or sent.
    expect(store.job('r5', 'b').status).toBe('pending');
    expect(dispatcher.recordedBeforeSend).toEqual(['agent-1']);
    clock.advance(100);
    await flush();
    expect(dispatcher.recordedBeforeSend).toEqual(['agent-1', 'agent-1']);
    expect(store.job('r5', 'b')).toMatchObject({ status: 'queued', agentId: 'agent-1' });
  });

  it('keeps runs apart: each run only hears about its own jobs when an agent drops', async () => {
    const store = new MemoryRunStore();
    store.add(planRun('r3', [{ id: 'x1' }]));
    store.add(planRun('r4', [{ id: 'y1' }, { id: 'y2' }]));
    const { system } = node(store);
    for (const id of ['r3', 'r4']) await runRef(system, id).ask({ type: 'start' }, 1_000);
    await runRef(system, 'r3').ask({ type: 'job_started', jobId: 'x1', agentId: 'agent-1' }, 1_000);
    await runRef(system, 'r4').ask({ type: 'job_started', jobId: 'y1', agentId: 'agent-1' }, 1_000);
    tellRunsAgentLost((runId, msg) => runRef(system, runId).tell(msg), 'agent-1', [
      { runId: 'r3', jobId: 'x1' },
      { runId: 'r4', jobId: 'y1' },
    ]);
    await flush();
    expect(store.job('r3', 'x1').status).toBe('recovering');
    expect(store.job('r4', 'y1').status).toBe('recovering');
    // y2 was queued on agent-1 too, but the agents room did not list it: it is left alone.
    expect(store.job('r4', 'y2')).toMatchObject({ status: 'queued', dispatchAttempts: 1 });
  });
});
