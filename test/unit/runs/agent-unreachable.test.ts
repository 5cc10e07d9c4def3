/**
 * `agent_unreachable`: the node holding an agent's socket (an edge worker) is out of reach, not the
 * agent. The run keeps the agent's running jobs as `recovering` for the window the message names
 * (KICI_CLUSTER_WORKER_OUTAGE_MAX_MS), not its own recovery window, and leaves the jobs not started
 * yet to their ack deadline. The agent's reports, replayed from the worker's outbox, still count.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { MemoryRunStore, RECOVERY_EXPIRED_ERROR, RUN_ACTOR_KIND, runActorFactory, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun, type PlanJob } from './run-fixtures.js';

const RUN = 'run-1';
const START = 1_000_000;
/** The run's own recovery window (an agent that disconnected), the default. */
const DEFAULT_WINDOW_MS = 120_000;

function harness(jobs: PlanJob[] = [{ id: 'a', steps: 2 }, { id: 'b' }, { id: 'c' }]) {
  const clock = new ManualClock(START);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, jobs));
  const dispatcher = new RecordingDispatcher();
  // a and b on agent-1 (behind the worker), c on agent-2 (elsewhere).
  dispatcher.choose = (req) => ({ status: 'assigned', agentId: req.jobId === 'c' ? 'agent-2' : 'agent-1' });
  const failures: ActorFailure[] = [];
  const boot = () => {
    const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => failures.push(f), shardMap: { ownerOf: () => ({ node: 'n1', epoch: 1 }) } });
    system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher }));
    return system;
  };
  let system = boot();
  const send = (msg: RunMessage): Promise<RunReply> => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 3_600_000);
  return {
    clock,
    store,
    dispatcher,
    failures,
    send,
    job: (id: string) => store.job(RUN, id),
    status: (id: string) => store.job(RUN, id).status,
    /** A fresh process: new actor system, same store. */
    restart: async () => {
      await system.shutdown();
      system = boot();
    },
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** a running on agent-1, b acked but not started on agent-1, c running on agent-2. */
async function started(h: ReturnType<typeof harness>): Promise<void> {
  await h.send({ type: 'start' });
  await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
  await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
  await h.send({ type: 'job_acked', jobId: 'b', agentId: 'agent-1' });
  await h.send({ type: 'job_started', jobId: 'c', agentId: 'agent-2' });
  expect([h.status('a'), h.status('b'), h.status('c')]).toEqual(['running', 'queued', 'running']);
}

describe('RunActor: agent_unreachable (the worker holding the agent is out of reach)', () => {
  it('holds the running job as recovering for the window given, and fails it when that window closes', async () => {
    const h = harness();
    await started(h);
    const reply = await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a', 'b'], windowMs: 30_000 });
    expect(reply).toEqual({ ok: true });
    expect(h.job('a')).toMatchObject({ status: 'recovering', agentId: 'agent-1', recoveryDeadline: START + 30_000 });
    // The job not started yet is untouched: not requeued, still on its agent.
    expect(h.job('b')).toMatchObject({ status: 'queued', agentId: 'agent-1', dispatchAttempts: 1 });
    expect(h.job('b').recoveryDeadline ?? null).toBeNull();
    expect(h.dispatcher.of('b')).toHaveLength(1);
    // Another agent's job is not this message's.
    expect(h.status('c')).toBe('running');

    h.clock.advance(29_999);
    await flush();
    expect(h.status('a')).toBe('recovering');
    // An early expiry (a sweep with a skewed clock) is refused.
    await expect(h.send({ type: 'recovery_expired', jobId: 'a' })).resolves.toMatchObject({ ok: false });
    h.clock.advance(1);
    await flush();
    // Closed at 30 s, well before the run's own 120 s window.
    expect(h.job('a')).toMatchObject({ status: 'failed', error: RECOVERY_EXPIRED_ERROR });
    expect(h.status('b')).toBe('queued');
    expect(h.failures).toEqual([]);
  });

  it('keeps a job recovering past the run\'s own window when the worker outage window is longer', async () => {
    const h = harness();
    await started(h);
    const windowMs = 10 * 60_000;
    await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a', 'b'], windowMs });
    expect(h.job('a').recoveryDeadline).toBe(START + windowMs);
    h.clock.advance(DEFAULT_WINDOW_MS);
    await flush();
    expect(h.status('a')).toBe('recovering');
    h.clock.advance(windowMs - DEFAULT_WINDOW_MS - 1);
    await flush();
    expect(h.status('a')).toBe('recovering');
    h.clock.advance(1);
    await flush();
    expect(h.job('a')).toMatchObject({ status: 'failed', error: RECOVERY_EXPIRED_ERROR });
  });

  it('keeps the window it was given across a restart of the owner', async () => {
    const h = harness();
    await started(h);
    await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a'], windowMs: 300_000 });
    h.clock.advance(100_000);
    await h.restart();
    // The new process loads the run; the deadline is the stored one, not now + 120 s.
    await expect(h.send({ type: 'resume' })).resolves.toEqual({ ok: true });
    h.clock.advance(DEFAULT_WINDOW_MS + 10_000);
    await flush();
    expect(h.status('a')).toBe('recovering');
    h.clock.advance(300_000 - 100_000 - DEFAULT_WINDOW_MS - 10_000);
    await flush();
    expect(h.job('a')).toMatchObject({ status: 'failed', error: RECOVERY_EXPIRED_ERROR });
  });

  it('resumes the job when the agent is back before the deadline, and the expiry does nothing then', async () => {
    const h = harness();
    await started(h);
    await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a', 'b'], windowMs: 30_000 });
    h.clock.advance(20_000);
    await flush();
    await expect(h.send({ type: 'agent_back', agentId: 'agent-1', jobIds: ['a', 'b'] })).resolves.toEqual({ ok: true });
    expect(h.job('a')).toMatchObject({ status: 'running', agentId: 'agent-1', recoveryDeadline: null });
    expect(h.job('b')).toMatchObject({ status: 'queued', agentId: 'agent-1' });
    expect(h.dispatcher.cancels).toEqual([]);
    h.clock.advance(DEFAULT_WINDOW_MS);
    await flush();
    expect(h.status('a')).toBe('running');
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(h.status('a')).toBe('success');
  });

  it('applies the reports the worker replays while the job is recovering, the final one included', async () => {
    const h = harness();
    await started(h);
    await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a'], windowMs: 30_000 });
    expect(h.status('a')).toBe('recovering');
    h.clock.advance(10_000);
    // Replayed from the worker's outbox, as they were held: step results, then the job's.
    await expect(h.send({ type: 'step_status', jobId: 'a', agentId: 'agent-1', stepIndex: 0, status: 'success', exitCode: 0 })).resolves.toEqual({ ok: true });
    await expect(h.send({ type: 'step_status', jobId: 'a', agentId: 'agent-1', stepIndex: 1, status: 'success', exitCode: 0 })).resolves.toEqual({ ok: true });
    await expect(h.send({ type: 'job_finished', jobId: 'a', status: 'success', outputs: { version: '1.2.3' }, agentId: 'agent-1' })).resolves.toEqual({ ok: true });
    expect(h.job('a')).toMatchObject({ status: 'success', outputs: { version: '1.2.3' } });
    expect(h.store.run(RUN).steps.filter((s) => s.jobId === 'a').map((s) => s.status)).toEqual(['success', 'success']);
    h.clock.advance(30_000);
    await flush();
    expect(h.status('a')).toBe('success');
  });

  it('does not let another agent finish the recovering job', async () => {
    const h = harness();
    await started(h);
    await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['a'], windowMs: 30_000 });
    const reply = await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-9' });
    expect(reply.ok).toBe(false);
    expect(h.status('a')).toBe('recovering');
  });

  it('is ignored when the agent holds no running job of the run', async () => {
    const h = harness();
    await started(h);
    // Only b (queued) listed for agent-1; and c listed for agent-1 though it is agent-2's.
    const reply = await h.send({ type: 'agent_unreachable', agentId: 'agent-1', jobIds: ['b', 'c'], windowMs: 30_000 });
    expect(reply).toEqual({ ok: false, ignored: 'the agent held no running job of this run' });
    expect([h.status('a'), h.status('b'), h.status('c')]).toEqual(['running', 'queued', 'running']);
    h.clock.advance(60_000);
    await flush();
    expect(h.status('c')).toBe('running');
  });
});
