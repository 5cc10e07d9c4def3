import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { MemoryRunStore, AGENT_RESTARTED_ERROR, RUN_ACTOR_KIND, runActorFactory, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

const RUN = 'run-1';

function harness() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, [{ id: 'a', steps: 2 }, { id: 'b' }]));
  const dispatcher = new RecordingDispatcher();
  dispatcher.choose = (req) => ({ status: 'assigned', agentId: req.jobId === 'a' ? 'agent-1' : 'agent-2' });
  const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => { throw f.error; } });
  system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher }));
  const send = (msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 60_000);
  return { clock, store, dispatcher, send, job: (id: string) => store.job(RUN, id) };
}

describe('an agent that registers again without its job (its process restarted)', () => {
  it('loses the job at that moment: dispatched again, elsewhere first, its steps afresh', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'success', exitCode: 0, agentId: 'agent-1' });
    // Killed: the connection drops and the started job waits in recovery.
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.job('a').status).toBe('recovering');
    h.clock.advance(9_000);
    const reply = await h.send({ type: 'agent_restarted', agentId: 'agent-1', jobIds: ['a'], at: h.clock.now() });
    expect(reply).toEqual({ ok: true });
    expect(h.job('a')).toMatchObject({ status: 'queued', dispatchAttempts: 2, previousAgentId: 'agent-1' });
    expect(h.dispatcher.of('a').map((d) => [d.attempt, d.avoidAgents])).toEqual([
      [1, []],
      [2, ['agent-1']],
    ]);
    expect(h.store.run(RUN).steps.filter((s) => s.jobId === 'a').map((s) => s.status)).toEqual(['pending', 'pending']);
    // The other agent's job is untouched.
    expect(h.job('b').status).toBe('queued');
  });

  it('fails the job with the reason once its dispatch attempts are used up', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    for (let i = 0; i < 4; i++) await h.send({ type: 'job_rejected', jobId: 'a', agentId: 'agent-1', reason: 'busy' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    expect(h.job('a').dispatchAttempts).toBe(5);
    await h.send({ type: 'agent_restarted', agentId: 'agent-1', jobIds: ['a'], at: h.clock.now() });
    expect(h.job('a')).toMatchObject({ status: 'failed', error: AGENT_RESTARTED_ERROR });
  });

  it('leaves alone a job given to the agent after it registered, and jobs of other agents', async () => {
    const h = harness();
    const registeredAt = h.clock.now();
    h.clock.advance(1);
    await h.send({ type: 'start' });
    const reply = await h.send({ type: 'agent_restarted', agentId: 'agent-1', jobIds: ['a', 'b'], at: registeredAt });
    expect(reply).toEqual({ ok: false, ignored: 'the agent lost no job of this run' });
    expect(h.job('a')).toMatchObject({ status: 'queued', agentId: 'agent-1', dispatchAttempts: 1 });
    expect(h.job('b')).toMatchObject({ status: 'queued', agentId: 'agent-2', dispatchAttempts: 1 });
  });
});
