import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  MemoryRunStore,
  FINISHED_GRACE_MS,
  RUN_ACTOR_KIND,
  claimOf,
  runActorFactory,
  type ForeignClaim,
  type JobRecord,
  type RunMessage,
  type RunReply,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

const RUN = 'run-1';

const record = (patch: Partial<JobRecord>): JobRecord => ({
  id: 'j',
  runId: RUN,
  name: 'j',
  baseName: 'j',
  config: {},
  status: 'queued',
  needsSatisfied: true,
  dispatchAttempts: 1,
  ...patch,
});

describe('claimOf: whose word about a job counts, from its record alone', () => {
  it.each([
    ['the agent of a queued dispatch', { status: 'queued', agentId: 'a' }, 'a', 'holder'],
    ['the agent running it', { status: 'running', agentId: 'a' }, 'a', 'holder'],
    ['the agent it waits for in recovery', { status: 'recovering', agentId: 'a' }, 'a', 'holder'],
    ['the agent cancelling it', { status: 'cancelling', agentId: 'a' }, 'a', 'holder'],
    ['another agent while it runs', { status: 'running', agentId: 'a' }, 'b', 'foreign'],
    ['anyone while it waits unplaced', { status: 'queued', agentId: null }, 'b', 'foreign'],
    ['the agent it was requeued from, while unplaced', { status: 'queued', agentId: null, previousAgentId: 'a' }, 'a', 'returning'],
    ['the agent it was requeued from, once placed elsewhere', { status: 'queued', agentId: 'b', previousAgentId: 'a' }, 'a', 'foreign'],
    ['the agent it ended on', { status: 'success', agentId: 'a' }, 'a', 'finished_here'],
    ['another agent after it ended', { status: 'failed', agentId: 'a' }, 'b', 'foreign'],
    ['anyone about a job that never ran', { status: 'pending', agentId: null }, 'a', 'foreign'],
  ] as const)('%s', (_what, patch, agentId, expected) => {
    expect(claimOf(record(patch), agentId)).toBe(expected);
  });

  it('refuses a job that does not exist', () => {
    expect(claimOf(undefined, 'a')).toBe('foreign');
  });
});

function harness() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, [{ id: 'a', steps: 1 }, { id: 'gpu', steps: 1 }]));
  const dispatcher = new RecordingDispatcher();
  // `a` goes to agent-1; `gpu` waits in the dispatcher's queue for an agent with the label.
  dispatcher.choose = (req) => (req.jobId === 'a' ? { status: 'assigned', agentId: 'agent-1' } : { status: 'queued' });
  const appended: [string, number, string][] = [];
  const refused: ForeignClaim[] = [];
  const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => { throw f.error; } });
  system.register(
    RUN_ACTOR_KIND,
    runActorFactory({
      store,
      dispatcher,
      logs: { append: async (_run, jobId, stepIndex, text) => void appended.push([jobId, stepIndex, text]) },
      observer: { foreignClaim: (c) => void refused.push(c) },
    }),
  );
  const send = (msg: RunMessage, runId = RUN) => system.ref<RunMessage>(RUN_ACTOR_KIND, runId).ask<RunReply>(msg, 60_000);
  return { clock, store, dispatcher, appended, refused, send };
}

describe('RunActor judges every agent message against the job record', () => {
  const spoofs: RunMessage[] = [
    { type: 'job_acked', jobId: 'gpu', agentId: 'intruder' },
    { type: 'job_rejected', jobId: 'gpu', agentId: 'intruder', reason: 'busy' },
    { type: 'job_started', jobId: 'gpu', agentId: 'intruder' },
    { type: 'job_heartbeat', jobId: 'gpu', agentId: 'intruder' },
    { type: 'step_status', jobId: 'gpu', stepIndex: 0, status: 'success', exitCode: 0, agentId: 'intruder' },
    { type: 'job_finished', jobId: 'gpu', status: 'success', agentId: 'intruder' },
    { type: 'job_logs', jobId: 'gpu', stepIndex: 0, text: 'spoofed\n', agentId: 'intruder' },
  ];

  it.each(spoofs.map((m) => [m.type, m] as const))('%s about a queued job nobody holds changes nothing and cancels it there', async (_t, msg) => {
    const h = harness();
    await h.send({ type: 'start' });
    const before = structuredClone(h.store.run(RUN));
    const reply = await h.send(msg);
    expect(reply).toEqual({ ok: false, ignored: 'the job is not dispatched to this agent', foreign: true });
    expect(h.store.run(RUN)).toEqual(before);
    expect(h.appended).toEqual([]);
    expect(h.dispatcher.cancels).toEqual([{ runId: RUN, jobId: 'gpu', agentId: 'intruder', force: true, reason: 'the job is not dispatched to this agent' }]);
    expect(h.refused).toEqual([{ runId: RUN, jobId: 'gpu', agentId: 'intruder', message: msg.type, reason: 'the job is not dispatched to this agent' }]);
  });

  it('refuses a message about a run that does not exist, and cancels it on the agent', async () => {
    const h = harness();
    const reply = await h.send({ type: 'job_logs', jobId: 'x', stepIndex: 0, text: 'hi\n', agentId: 'intruder' }, 'no-such-run');
    expect(reply).toMatchObject({ foreign: true, ignored: 'no such run' });
    expect(h.dispatcher.cancels).toMatchObject([{ runId: 'no-such-run', jobId: 'x', agentId: 'intruder' }]);
    expect(h.appended).toEqual([]);
  });

  it('stores the holder’s log lines, and its late lines only within the grace after the job ended', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_started', jobId: 'a', agentId: 'agent-1' });
    await h.send({ type: 'job_logs', jobId: 'a', stepIndex: 0, text: 'one\n', agentId: 'agent-1' });
    await h.send({ type: 'job_finished', jobId: 'a', status: 'success', agentId: 'agent-1' });
    h.clock.advance(FINISHED_GRACE_MS);
    await expect(h.send({ type: 'job_logs', jobId: 'a', stepIndex: 0, text: 'late\n', agentId: 'agent-1' })).resolves.toEqual({ ok: true });
    h.clock.advance(1);
    const tooLate = await h.send({ type: 'job_logs', jobId: 'a', stepIndex: 0, text: 'too late\n', agentId: 'agent-1' });
    expect(tooLate).toEqual({ ok: false, ignored: 'the job ended long ago' });
    // Late statuses from the job's own agent are dropped quietly: never refused, never cancelled.
    expect(await h.send({ type: 'job_heartbeat', jobId: 'a', agentId: 'agent-1' })).toEqual({ ok: false, ignored: 'job is not running' });
    expect(h.appended.map(([, , text]) => text)).toEqual(['one\n', 'late\n']);
    expect(h.dispatcher.cancels).toEqual([]);
    expect(h.refused).toEqual([]);
  });

  it('counts the word of the agent the dispatcher placed a queued job on, and no one else’s', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_assigned', jobId: 'gpu', agentId: 'gpu-1', previous: null, attempt: 1 });
    expect((await h.send({ type: 'job_started', jobId: 'gpu', agentId: 'intruder' })).ok).toBe(false);
    expect(await h.send({ type: 'job_started', jobId: 'gpu', agentId: 'gpu-1' })).toEqual({ ok: true });
    expect(h.store.job(RUN, 'gpu')).toMatchObject({ status: 'running', agentId: 'gpu-1' });
  });

  it('adopts the copy of the agent a job was requeued from when it reports on it before the job is placed again', async () => {
    const h = harness();
    await h.send({ type: 'start' });
    await h.send({ type: 'job_acked', jobId: 'a', agentId: 'agent-1' });
    h.dispatcher.choose = () => ({ status: 'queued' });
    await h.send({ type: 'agent_lost', agentId: 'agent-1', jobIds: ['a'] });
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'queued', agentId: null, previousAgentId: 'agent-1' });
    await expect(h.send({ type: 'step_status', jobId: 'a', stepIndex: 0, status: 'running', agentId: 'agent-1' })).resolves.toEqual({ ok: true });
    expect(h.dispatcher.withdrawals).toEqual(['a']);
    expect(h.store.job(RUN, 'a')).toMatchObject({ status: 'running', agentId: 'agent-1' });
  });
});
