import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import {
  MemoryRunStore,
  RECOVERY_EXPIRED_ERROR,
  RUN_ACTOR_KIND,
  STALE_ERROR,
  UNANSWERED_DISPATCH_ERROR,
  runActorFactory,
  type JobStatus,
  type RunMessage,
  type RunRecord,
  type RunReply,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun, type PlanJob } from './run-fixtures.js';

const RUN = 'run-1';

function harness(jobs: PlanJob[], options: { epoch?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, jobs));
  const dispatcher = new RecordingDispatcher();
  const completed: RunRecord[] = [];
  const jobChanges: [string, JobStatus][] = [];
  const failures: ActorFailure[] = [];
  const boot = () => {
    const system = new ActorSystem({
      nodeId: 'n1',
      clock,
      onError: (f) => failures.push(f),
      shardMap: { ownerOf: () => ({ node: 'n1', epoch: options.epoch ?? 1 }) },
    });
    system.register(
      RUN_ACTOR_KIND,
      runActorFactory({
        store,
        dispatcher,
        observer: {
          runCompleted: (run) => completed.push({ ...run }),
          jobChanged: (_run, job) => jobChanges.push([job.id, job.status]),
        },
      }),
    );
    return system;
  };
  let system = boot();
  const send = (msg: RunMessage): Promise<RunReply> => system.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 600_000);
  /** Ack, start and finish a job on agent-1. */
  const runJob = async (jobId: string, status: 'success' | 'failed' = 'success', outputs: Record<string, string> = {}) => {
    await send({ type: 'job_acked', jobId, agentId: 'agent-1' });
    await send({ type: 'job_started', jobId, agentId: 'agent-1' });
    return send({ type: 'job_finished', jobId, status, outputs, agentId: 'agent-1' });
  };
  const status = (jobId: string) => store.job(RUN, jobId).status;
  /** A fresh process: new actor system, same store. */
  const restart = async () => {
    await system.shutdown();
    system = boot();
  };
  return { clock, store, dispatcher, completed, jobChanges, failures, send, runJob, status, restart, system: () => system };
}

const chain: PlanJob[] = [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }];

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('RunActor: the happy path', () => {
  it('runs a 3-job needs chain in order and completes the run exactly once', async () => {
    const h = harness(chain);
    await expect(h.send({ type: 'start' })).resolves.toEqual({ ok: true });
    expect(h.store.run(RUN).run.status).toBe('running');
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual(['a']);
    expect(h.status('a')).toBe('queued');
    expect(h.store.job(RUN, 'a').agentId).toBe('agent-1');

    await h.runJob('a', 'success', { version: '1.2.3' });
    expect(h.status('a')).toBe('success');
    expect(h.store.job(RUN, 'a').outputs).toEqual({ version: '1.2.3' });
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual(['a', 'b']);
    const bRequest = h.dispatcher.of('b')[0]!;
    expect(bRequest.needs).toEqual({ a: { status: 'success', outputs: { version: '1.2.3' }, children: {} } });
    expect(bRequest).toMatchObject({ runId: RUN, epoch: 1, attempt: 1, labels: ['os:linux'], jobName: 'b' });

    await h.runJob('b');
    expect(h.completed).toHaveLength(0);
    await h.runJob('c');
    expect(h.store.run(RUN).run.status).toBe('success');
    expect(h.store.completions).toEqual([{ runId: RUN, status: 'success', error: null }]);
    expect(h.completed.map((r) => r.status)).toEqual(['success']);
    // c only ever saw its direct upstream.
    expect(Object.keys(h.dispatcher.of('c')[0]!.needs)).toEqual(['b']);
  });

  it('ignores a duplicate or late job_finished: the run finishes once, with the first result', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.runJob('a', 'success', { k: 'v' });
    const again = await h.send({ type: 'job_finished', jobId: 'a', status: 'failed', error: 'late', agentId: 'agent-1' });
    expect(again).toEqual({ ok: false, ignored: 'job is already success' });
    const late = await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'failed', exitCode: 1, agentId: 'agent-1' });
    expect(late.ok).toBe(false);
    expect(h.status('a')).toBe('success');
    expect(h.store.job(RUN, 'a').outputs).toEqual({ k: 'v' });
    expect(h.store.completions).toHaveLength(1);
    expect(h.completed).toHaveLength(1);
    await expect(h.send({ type: 'start' })).resolves.toEqual({ ok: false, ignored: 'the run is already finished' });
  });

  it('records step statuses with exit codes while the job runs', async () => {
    const h = harness([{ id: 'a', steps: 2 }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'running', agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'success', exitCode: 0, agentId: 'agent-1' });
    await h.send({ type: 'step_status', jobId: 'a', stepIndex: 1, status: 'failed', exitCode: 3, agentId: 'agent-1' });
    const steps = h.store.run(RUN).steps;
    expect(steps.map((s) => [s.status, s.exitCode])).toEqual([
      ['success', 0],
      ['failed', 3],
    ]);
    const dup = await h.send({ type: 'step_status', jobId: 'a', stepIndex: 1, status: 'success', exitCode: 0, agentId: 'agent-1' });
    expect(dup).toEqual({ ok: false, ignored: 'step is failed' });
    const bogus = await h.send({ type: 'step_status', jobId: 'a', stepIndex: 7, status: 'running', agentId: 'agent-1' });
    expect(bogus).toEqual({ ok: false, ignored: 'unknown step' });
  });

  it('counts a start (or a final status) as an ack, even without job.ack', async () => {
    const h = harness([{ id: 'a' }, { id: 'b' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'b', status: 'success', agentId: 'agent-1' });
    h.clock.advance(60_000);
    await flush();
    expect(h.dispatcher.dispatches).toHaveLength(2);
    expect(h.status('a')).toBe('running');
    expect(h.status('b')).toBe('success');
    expect(h.store.job(RUN, 'a').ackedAt).toBe(1_000_000);
  });

  it('hands matrix children and their outputs to the downstream job', async () => {
    const h = harness([
      { id: 't (1)', baseName: 't', matrix: { n: '1' } },
      { id: 't (2)', baseName: 't', matrix: { n: '2' } },
      { id: 'd', needs: ['t (1)', 't (2)'] },
    ]);
    await h.send({ type: 'start' });
    expect(h.dispatcher.dispatches.map((d) => [d.jobId, d.matrix])).toEqual([
      ['t (1)', { n: '1' }],
      ['t (2)', { n: '2' }],
    ]);
    await h.runJob('t (2)', 'success', { x: 'two', only2: 'y' });
    expect(h.dispatcher.of('d')).toHaveLength(0);
    await h.runJob('t (1)', 'success', { x: 'one' });
    expect(h.dispatcher.of('d')[0]!.needs).toEqual({
      t: {
        status: 'success',
        outputs: { x: 'two', only2: 'y' },
        children: {
          't (1)': { status: 'success', outputs: { x: 'one' } },
          't (2)': { status: 'success', outputs: { x: 'two', only2: 'y' } },
        },
      },
    });
  });
});

describe('RunActor: failures', () => {
  it('skips the dependents of a failing job and fails the run with its error', async () => {
    const h = harness(chain);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'a', status: 'failed', error: 'step "compile" exited with 2', agentId: 'agent-1' });
    expect([h.status('a'), h.status('b'), h.status('c')]).toEqual(['failed', 'skipped', 'skipped']);
    expect(h.dispatcher.dispatches.map((d) => d.jobId)).toEqual(['a']);
    expect(h.store.run(RUN).run).toMatchObject({ status: 'failed', error: 'job "a" failed: step "compile" exited with 2' });
    expect(h.completed).toHaveLength(1);
  });

  it('requeues a rejected job on another attempt, then fails it after 5 attempts', async () => {
    const h = harness([{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    await h.send({ type: 'start' });
    for (let i = 1; i <= 4; i++) {
      await h.send({ type: 'job_rejected', jobId: 'a', reason: 'busy', agentId: 'agent-1' });
      expect(h.dispatcher.of('a')).toHaveLength(i + 1);
      expect(h.status('a')).toBe('queued');
    }
    expect(h.dispatcher.of('a').map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(h.dispatcher.of('a')[1]!.avoidAgents).toEqual(['agent-1']);
    await h.send({ type: 'job_rejected', jobId: 'a', reason: 'busy', agentId: 'agent-1' });
    expect(h.dispatcher.of('a')).toHaveLength(5);
    expect(h.status('a')).toBe('failed');
    expect(h.store.job(RUN, 'a').error).toBe('no agent took the job after 5 dispatch attempts (last: rejected: busy)');
    expect(h.status('b')).toBe('skipped');
    expect(h.store.run(RUN).run.status).toBe('failed');
  });

  it('requeues a dispatch that is not acked within 10 s, and tells the agents room', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    h.clock.advance(9_999);
    await flush();
    expect(h.dispatcher.dispatches).toHaveLength(1);
    h.clock.advance(1);
    await flush();
    expect(h.dispatcher.dispatches).toHaveLength(2);
    expect(h.dispatcher.ackTimeouts).toEqual([{ agentId: 'agent-1', jobId: 'a' }]);
    // A timeout for the superseded attempt is ignored.
    await expect(h.send({ type: 'ack_timeout', jobId: 'a', attempt: 1 })).resolves.toMatchObject({ ok: false });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    h.clock.advance(60_000);
    await flush();
    expect(h.dispatcher.dispatches).toHaveLength(2);
  });

  it('watches the ack deadline of a queued dispatch from the moment the dispatcher reports placing it', async () => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.choose = () => ({ status: 'queued' });
    await h.send({ type: 'start' });
    h.clock.advance(60_000);
    await flush();
    // No deadline while the job only waits in the dispatcher's queue.
    expect(h.dispatcher.dispatches).toHaveLength(1);
    await h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-5', previous: null, attempt: 1 });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-5', ackDeadline: 1_070_000 });
    h.clock.advance(10_000);
    await flush();
    // The deadline is looked at again a turn later before anything is done about it.
    expect(h.dispatcher.ackTimeouts).toEqual([]);
    h.clock.advance(0);
    await flush();
    expect(h.dispatcher.ackTimeouts).toEqual([{ agentId: 'agent-5', jobId: 'a' }]);
    expect(h.dispatcher.of('a').map((d) => [d.attempt, d.avoidAgents])).toEqual([
      [1, []],
      [2, ['agent-5']],
    ]);
    // A late report of the first placement changes nothing; the second one counts.
    await expect(h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-5', previous: null, attempt: 1 })).resolves.toMatchObject({ ok: false });
    await h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-6', previous: null, attempt: 2 });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-6' });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-6', previousAgentId: 'agent-5', ackedAt: 1_070_000 });
    await expect(h.send({ type: 'ack_timeout', jobId: 'a', attempt: 2 })).resolves.toMatchObject({ ok: false });
  });

  it('has the chosen agent on record before the dispatch frame leaves', async () => {
    const h = harness([{ id: 'a' }]);
    let onRecordAtSend: unknown;
    const dispatch = h.dispatcher.dispatch.bind(h.dispatcher);
    // What the store holds once `record` resolves: the moment the agents room sends the frame.
    h.dispatcher.dispatch = (request, record) =>
      dispatch(request, async (agentId) => {
        await record(agentId);
        onRecordAtSend = h.store.job(RUN, 'a').agentId;
      });
    await h.send({ type: 'start' });
    expect(h.dispatcher.recordedBeforeSend).toEqual(['agent-1']);
    expect(onRecordAtSend).toBe('agent-1');
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-1', ackDeadline: 1_010_000 });
  });

  it('after a restart, a job on record with an unanswered agent waits for its ack deadline instead of going to a second agent', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.restart();
    await h.send({ type: 'resume' });
    expect(h.dispatcher.of('a')).toHaveLength(1);
    h.clock.advance(10_000);
    await flush();
    h.clock.advance(0);
    await flush();
    expect(h.dispatcher.ackTimeouts).toEqual([{ agentId: 'agent-1', jobId: 'a' }]);
    expect(h.dispatcher.of('a').map((d) => d.attempt)).toEqual([1, 2]);
  });

  it('keeps the job with its agent when the ack comes in the turn after the deadline fired (the node had stalled)', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    h.clock.advance(10_000);
    await flush();
    // The ack was in the socket, read only after the timers of the stalled turn ran.
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    h.clock.advance(0);
    await flush();
    expect(h.dispatcher.ackTimeouts).toEqual([]);
    expect(h.dispatcher.of('a').map((d) => d.attempt)).toEqual([1]);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-1', ackedAt: 1_010_000 });
  });

  it('records a queued placement only as a compare-and-set on the agent on record, and answers with its epoch', async () => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.choose = () => ({ status: 'queued' });
    await h.send({ type: 'start' });
    expect(h.store.job(RUN, 'a').agentId).toBeNull();
    await expect(h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-2', previous: null, attempt: 1 })).resolves.toEqual({ ok: true, epoch: 1 });
    // Another dispatcher holding a stale copy of the request finds the job placed.
    await expect(h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-3', previous: null, attempt: 1 })).resolves.toMatchObject({ ok: false });
    expect(h.store.job(RUN, 'a').agentId).toBe('agent-2');
    // The offer to agent-2 was refused: its dispatcher moves the record on, then back to no agent.
    await expect(h.send({ type: 'job_assigned', jobId: 'a', agentId: 'agent-4', previous: 'agent-2', attempt: 1 })).resolves.toEqual({ ok: true, epoch: 1 });
    await expect(h.send({ type: 'job_assigned', jobId: 'a', agentId: null, previous: 'agent-4', attempt: 1 })).resolves.toEqual({ ok: true, epoch: 1 });
    expect(h.store.job(RUN, 'a')).toMatchObject({ agentId: null, ackDeadline: null });
    // No ack deadline runs for a job back in the queue.
    h.clock.advance(60_000);
    await flush();
    expect(h.dispatcher.ackTimeouts).toEqual([]);
  });

  it('marks a running job stale, stops its agent, and fails the run', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await expect(h.send({ type: 'stale', jobId: 'a' })).resolves.toEqual({ ok: true });
    expect(h.status('a')).toBe('timed_out_stale');
    expect(h.store.job(RUN, 'a').error).toBe(STALE_ERROR);
    expect(h.dispatcher.cancels).toMatchObject([{ jobId: 'a', agentId: 'agent-1', force: true }]);
    expect(h.store.run(RUN).run.status).toBe('failed');
    // The agent's own late result changes nothing.
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(h.status('a')).toBe('timed_out_stale');
  });

  it('never lets an agent that does not hold the job change it, and stops that agent', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    const reply = await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-9' });
    expect(reply).toEqual({ ok: false, ignored: 'the job is not dispatched to this agent', foreign: true });
    expect(h.status('a')).toBe('queued');
    expect(h.dispatcher.cancels).toMatchObject([{ jobId: 'a', agentId: 'agent-9', force: true }]);
  });
});

describe('RunActor: agents that disconnect', () => {
  it('puts a started job into recovery and resumes it when the agent comes back', async () => {
    const h = harness([{ id: 'a' }, { id: 'b' }]);
    h.dispatcher.choose = (req) => ({ status: 'assigned', agentId: req.jobId === 'a' ? 'agent-1' : 'agent-2' });
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_acked', jobId: 'b', agentId: 'agent-2' });
    await expect(h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] })).resolves.toEqual({ ok: true });
    expect(h.status('a')).toBe('recovering');
    expect(h.store.job(RUN, 'a').recoveryDeadline).toBe(1_000_000 + 120_000);
    expect(h.status('b')).toBe('queued');

    h.clock.advance(60_000);
    await flush();
    await h.send({ type: 'agent_back', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.status('a')).toBe('running');
    expect(h.store.job(RUN, 'a').recoveryDeadline).toBeNull();
    h.clock.advance(120_000);
    await flush();
    expect(h.status('a')).toBe('running');
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(h.status('a')).toBe('success');
  });

  it('requeues a job the lost agent had not started yet, avoiding that agent', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    h.dispatcher.choose = () => ({ status: 'assigned', agentId: 'agent-2' });
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.dispatcher.of('a').map((d) => [d.attempt, d.avoidAgents])).toEqual([
      [1, []],
      [2, ['agent-1']],
    ]);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-2' });
    // The old agent reappears claiming the job: it is told to stop, the new assignment stands.
    await h.send({ type: 'agent_back', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.dispatcher.cancels).toMatchObject([{ jobId: 'a', agentId: 'agent-1', force: true }]);
    expect(h.store.job(RUN, 'a').agentId).toBe('agent-2');
  });

  it('adopts the returning copy of a job requeued while its agent was away and placed nowhere yet', async () => {
    const h = harness([{ id: 'a' }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    h.dispatcher.choose = () => ({ status: 'queued' });
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: null });
    await h.send({ type: 'agent_back', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.dispatcher.withdrawals).toEqual(['a']);
    expect(h.dispatcher.cancels).toEqual([]);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'running', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(h.status('a')).toBe('success');
  });

  it('fails a recovering job when the window closes, and the run with it', async () => {
    const h = harness([{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    // An early expiry message (say, from a sweep with a skewed clock) is refused.
    await expect(h.send({ type: 'recovery_expired', jobId: 'a' })).resolves.toMatchObject({ ok: false });
    h.clock.advance(120_000);
    await flush();
    expect(h.status('a')).toBe('failed');
    expect(h.store.job(RUN, 'a').error).toBe(RECOVERY_EXPIRED_ERROR);
    expect(h.status('b')).toBe('skipped');
    expect(h.store.run(RUN).run).toMatchObject({ status: 'failed', error: `job "a" failed: ${RECOVERY_EXPIRED_ERROR}` });
    await h.send({ type: 'agent_back', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.status('a')).toBe('failed');
    expect(h.dispatcher.cancels.at(-1)).toMatchObject({ jobId: 'a', agentId: 'agent-1', force: true });
  });
});

describe('RunActor: an unanswered dispatch whose agent may still hold the job', () => {
  /** Past a deadline, then the turn in which it is looked at again. */
  async function pass(h: ReturnType<typeof harness>, ms: number): Promise<void> {
    h.clock.advance(ms);
    await flush();
    h.clock.advance(0);
    await flush();
  }

  it('does not place the job again while the agent\'s node judges it, asks again every ack window, and takes the late ack', async () => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.unanswered = 'asked';
    await h.send({ type: 'start' });
    await pass(h, 10_000);
    expect(h.dispatcher.ackTimeouts).toEqual([{ agentId: 'agent-1', jobId: 'a' }]);
    expect(h.dispatcher.of('a')).toHaveLength(1);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-1', dispatchAttempts: 1, ackedAt: null });
    await pass(h, 10_000);
    expect(h.dispatcher.ackTimeouts).toHaveLength(2);
    // The ack, relayed slower than the deadline, arrives: the job is the agent's, nothing more is asked.
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    await pass(h, 60_000);
    expect(h.dispatcher.ackTimeouts).toHaveLength(2);
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    expect(h.store.run(RUN).run.status).toBe('success');
    expect(h.dispatcher.of('a')).toHaveLength(1);
    expect(h.dispatcher.cancels).toEqual([]);
  });

  it('keeps the job with an agent this node saw ack, whose ack has not reached the run yet', async () => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.unanswered = 'acked';
    await h.send({ type: 'start' });
    await pass(h, 10_000);
    expect(h.dispatcher.of('a')).toHaveLength(1);
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-1', ackedAt: 1_010_000 });
  });

  it.each(['closed', 'gone'] as const)('places the job again at once when the agent is %s', async (found) => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.unanswered = found;
    await h.send({ type: 'start' });
    await pass(h, 10_000);
    expect(h.dispatcher.of('a').map((d) => [d.attempt, d.avoidAgents])).toEqual([
      [1, []],
      [2, ['agent-1']],
    ]);
  });

  it('after a takeover, a new owner does not place again a job the old one placed on an agent elsewhere, and takes that agent\'s late reports', async () => {
    const options = { epoch: 1 };
    const h = harness([{ id: 'a', steps: 1 }, { id: 'b', needs: ['a'] }], options);
    await h.send({ type: 'start' });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-1', ackDeadline: 1_010_000 });
    // The old owner stalls and loses the shard; the agent's reports find no owner for a while.
    h.clock.advance(15_000);
    h.store.takeOver(RUN, 2);
    options.epoch = 2;
    await h.restart();
    h.dispatcher.unanswered = 'asked';
    await h.send({ type: 'resume' });
    await pass(h, 0);
    // The deadline it inherited had passed: the agent's node is asked at once, nothing is placed.
    expect(h.dispatcher.ackTimeouts).toEqual([{ agentId: 'agent-1', jobId: 'a' }]);
    expect(h.dispatcher.of('a')).toHaveLength(1);
    await pass(h, 10_000);
    expect(h.dispatcher.of('a')).toHaveLength(1);
    // The agent's node reaches the owner again: the step and the result of the only execution count.
    await expect(h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'success', exitCode: 0, agentId: 'agent-1' })).resolves.toEqual({ ok: true });
    await expect(h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' })).resolves.toEqual({ ok: true });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'success', agentId: 'agent-1', dispatchAttempts: 1 });
    expect(h.dispatcher.cancels).toEqual([]);
    expect(h.dispatcher.of('b')).toHaveLength(1);
  });

  it('places the job again once the agent registers again without it', async () => {
    const h = harness([{ id: 'a' }]);
    h.dispatcher.unanswered = 'asked';
    await h.send({ type: 'start' });
    await pass(h, 10_000);
    h.dispatcher.choose = () => ({ status: 'assigned', agentId: 'agent-2' });
    await expect(h.send({ type: 'agent_restarted', agentId: 'agent-1', jobIds: ['a'], at: h.clock.now() })).resolves.toEqual({ ok: true });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: 'agent-2', dispatchAttempts: 2 });
  });

  it('fails the job, never placing it again, when no word comes within the recovery window past its ack deadline', async () => {
    const h = harness([{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    h.dispatcher.unanswered = 'asked';
    await h.send({ type: 'start' });
    await pass(h, 10_000);
    await pass(h, 119_999);
    expect(h.status('a')).toBe('queued');
    await pass(h, 1);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'failed', error: UNANSWERED_DISPATCH_ERROR });
    expect(h.status('b')).toBe('skipped');
    expect(h.store.run(RUN).run.status).toBe('failed');
    expect(h.dispatcher.of('a')).toHaveLength(1);
    // The agent is told to drop its copy, should it have one.
    expect(h.dispatcher.cancels).toMatchObject([{ jobId: 'a', agentId: 'agent-1', force: true }]);
  });
});
