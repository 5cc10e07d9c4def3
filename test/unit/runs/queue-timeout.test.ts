import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { MemoryRunStore, RUN_ACTOR_KIND, runActorFactory, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

const RUN = 'run-1';
const HOUR = 3_600_000;

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function harness() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, [{ id: 'gpu', runsOn: ['gpu'] }, { id: 'cpu' }]));
  const dispatcher = new RecordingDispatcher();
  // Nobody has the gpu label: that job waits in the dispatcher's queue.
  dispatcher.choose = (req) => (req.jobId === 'gpu' ? { status: 'queued' } : { status: 'assigned', agentId: 'agent-1' });
  const boot = () => {
    const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => { throw f.error; } });
    system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, options: { queueTimeoutMs: 2 * HOUR } }));
    return system;
  };
  let system = boot();
  const send = (msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 60_000);
  const restart = async () => {
    await system.shutdown();
    system = boot();
  };
  return { clock, store, dispatcher, send, restart, job: (id: string) => store.job(RUN, id) };
}

describe('a job that waits for an agent', () => {
  it('fails once it has waited the queue timeout, saying why, and leaves the queue', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'cpu', agentId: 'agent-1' });
    h.clock.advance(2 * HOUR - 1);
    await flush();
    expect(h.job('gpu').status).toBe('queued');
    h.clock.advance(1);
    await flush();
    expect(h.job('gpu')).toMatchObject({ status: 'failed', error: 'no agent took the job within 2 h of it being queued (KICI_QUEUE_TIMEOUT_MS)' });
    expect(h.dispatcher.withdrawals).toEqual(['gpu']);
  });

  it('does not time out a job an agent has taken, however long it then takes', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'cpu', agentId: 'agent-1' });
    h.clock.advance(3 * HOUR);
    await flush();
    expect(h.job('cpu')).toMatchObject({ status: 'queued', error: null });
  });

  it('counts from when the job was first queued, across a restart', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    h.clock.advance(HOUR);
    await h.restart();
    await h.send({ type: 'resume' });
    h.clock.advance(HOUR);
    await flush();
    expect(h.job('gpu').status).toBe('failed');
  });
});
