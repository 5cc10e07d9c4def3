import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { MemoryRunStore, RECOVERY_EXPIRED_ERROR, RUN_ACTOR_KIND, runActorFactory, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun, type PlanJob } from './run-fixtures.js';

const RUN = 'run-1';

function harness(jobs: PlanJob[]) {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, jobs));
  const dispatcher = new RecordingDispatcher();
  const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => { throw f.error; } });
  system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, options: { recoveryWindowMs: 1_000 } }));
  const send = (msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 60_000);
  const steps = (jobId: string) => store.run(RUN).steps.filter((s) => s.jobId === jobId).map((s) => [s.status, s.exitCode ?? null, s.error ?? null]);
  return { clock, store, send, steps };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('steps end with their job', () => {
  it('a forced cancel ends the running step cancelled and the rest skipped, with the reason', async () => {
    const h = harness([{ id: 'a', steps: 3 }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'success', exitCode: 0, agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 1, status: 'running', agentId: 'agent-1' });
    await h.send({ type: 'cancel', force: true, reason: 'cancelled by an operator (forced)' });
    expect(h.steps('a')).toEqual([
      ['success', 0, null],
      ['cancelled', null, 'cancelled by an operator (forced)'],
      ['skipped', null, 'cancelled by an operator (forced)'],
    ]);
    // The agent's own late report cannot bring a step back.
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 1, status: 'success', exitCode: 0, agentId: 'agent-1' });
    expect(h.steps('a')[1]).toEqual(['cancelled', null, 'cancelled by an operator (forced)']);
  });

  it('an agent lost mid-step leaves its step failed with the recovery reason', async () => {
    const h = harness([{ id: 'a', steps: 2 }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'running', agentId: 'agent-1' });
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    h.clock.advance(1_000);
    await flush();
    expect(h.store.job(RUN, 'a').status).toBe('failed');
    expect(h.steps('a')).toEqual([
      ['failed', null, RECOVERY_EXPIRED_ERROR],
      ['skipped', null, RECOVERY_EXPIRED_ERROR],
    ]);
  });

  it('a skipped job says which upstream it waited for, and its steps are skipped too', async () => {
    const h = harness([{ id: 'build' }, { id: 'deploy', needs: ['build'], steps: 2 }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'build', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'build', status: 'failed', error: 'exit code 1', agentId: 'agent-1' });
    const reason = 'skipped: needs build, which ended failed (runs on success)';
    expect(h.store.job(RUN, 'deploy')).toMatchObject({ status: 'skipped', error: reason });
    expect(h.steps('deploy')).toEqual([
      ['skipped', null, reason],
      ['skipped', null, reason],
    ]);
  });

  it('a cancelled step never shows exit 0', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'cancelled', exitCode: 0, agentId: 'agent-1' });
    expect(h.steps('a')).toEqual([['cancelled', null, null]]);
  });
});
