import { describe, it, expect } from 'vitest';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import {
  MemoryRunStore,
  RUN_ACTOR_KIND,
  isTerminalJobStatus,
  runActorFactory,
  runOutcome,
  type JobStatus,
  type RunMessage,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun, type PlanJob } from './run-fixtures.js';

const ALWAYS: JobStatus[] = ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'];
const RUN_ON: JobStatus[][] = [['success'], ['success'], ALWAYS, ['failed', 'timed_out_stale']];
const AGENTS = ['ag1', 'ag2', 'ag3'];

async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise((resolve) => setImmediate(resolve));
}

function randomPlan(rnd: SeededRandom): PlanJob[] {
  const count = rnd.int(1, 6);
  return Array.from({ length: count }, (_, i) => {
    const needs: [string, JobStatus[]][] = [];
    for (let u = 0; u < i; u++) if (rnd.next() < 0.4) needs.push([`j${u}`, RUN_ON[rnd.int(0, RUN_ON.length - 1)]!]);
    return { id: `j${i}`, needs };
  });
}

/**
 * Agents that ack, start, finish, reject, vanish, come back, repeat themselves and talk about jobs
 * they do not hold, in a seeded random order. Whatever happens, the run must end exactly once, with
 * the outcome its jobs dictate, and no handler may crash.
 */
async function chaos(seed: number): Promise<void> {
  const rnd = new SeededRandom(seed);
  const clock = new ManualClock(0);
  const store = new MemoryRunStore();
  store.add(planRun('r', randomPlan(rnd)));
  const dispatcher = new RecordingDispatcher();
  dispatcher.choose = () =>
    rnd.next() < 0.1 ? { status: 'queued' } : { status: 'assigned', agentId: AGENTS[rnd.int(0, AGENTS.length - 1)]! };
  const failures: ActorFailure[] = [];
  let completedEvents = 0;
  const system = new ActorSystem({ nodeId: 'n', clock, onError: (f) => failures.push(f) });
  system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, observer: { runCompleted: () => completedEvents++ } }));
  const sent: RunMessage[] = [];
  const send = async (msg: RunMessage) => {
    sent.push(msg);
    await system.ref<RunMessage>(RUN_ACTOR_KIND, 'r').ask(msg, 10_000_000);
  };
  const endings = new Map<string, JobStatus>();
  const check = () => {
    expect(failures, `seed ${seed}: ${String(failures[0]?.error)}`).toEqual([]);
    expect(store.completions.length).toBeLessThanOrEqual(1);
    for (const job of store.run('r').jobs) {
      expect(job.dispatchAttempts).toBeLessThanOrEqual(5);
      const ended = endings.get(job.id);
      if (ended) expect(job.status, `seed ${seed}: ${job.id} left a terminal status`).toBe(ended);
      else if (isTerminalJobStatus(job.status)) endings.set(job.id, job.status);
    }
  };

  await send({ type: 'start' });
  for (let step = 0; step < 120 && store.completions.length === 0; step++) {
    await chaosStep(rnd, store, clock, send, sent);
    await flush();
    check();
  }
  // Then the agents behave: everything still open is driven to its end.
  for (let round = 0; round < 60 && store.completions.length === 0; round++) {
    for (const job of store.run('r').jobs) await settleJob(job, send);
    clock.advance(11_000);
    await flush();
    check();
  }
  const jobs = store.run('r').jobs;
  expect(jobs.every((j) => isTerminalJobStatus(j.status)), `seed ${seed}: jobs left open`).toBe(true);
  expect(store.completions, `seed ${seed}`).toHaveLength(1);
  expect(completedEvents).toBe(1);
  const expected = runOutcome(jobs.map((j) => j.status));
  expect(store.run('r').run.status).toBe(expected);
}

async function settleJob(job: { id: string; status: JobStatus; agentId?: string | null; dispatchAttempts: number }, send: (m: RunMessage) => Promise<void>) {
  const agentId = job.agentId ?? 'ag1';
  // A job waiting in the dispatcher's queue is placed first: only its holder's word counts.
  if (job.status === 'queued' && !job.agentId) await send({ type: 'job_assigned', jobId: job.id, agentId, previous: null, attempt: job.dispatchAttempts });
  if (job.status === 'queued') await send({ type: 'job_finished', jobId: job.id, status: 'success', agentId });
  else if (job.status === 'running') await send({ type: 'job_finished', jobId: job.id, status: 'success', agentId });
  else if (job.status === 'recovering') await send({ type: 'agent_back', agentId, jobIds: [job.id] });
  else if (job.status === 'cancelling') await send({ type: 'job_finished', jobId: job.id, status: 'cancelled', agentId });
}

async function chaosStep(
  rnd: SeededRandom,
  store: MemoryRunStore,
  clock: ManualClock,
  send: (m: RunMessage) => Promise<void>,
  sent: RunMessage[],
): Promise<void> {
  const roll = rnd.next();
  if (roll < 0.08 && sent.length > 0) return send(sent[rnd.int(0, sent.length - 1)]!); // a duplicate
  if (roll < 0.12) return clock.advance(rnd.int(0, 130_000));
  if (roll < 0.13) return send({ type: 'cancel', force: rnd.next() < 0.5 });
  const open = store.run('r').jobs.filter((j) => !isTerminalJobStatus(j.status) && j.status !== 'pending');
  if (open.length === 0) return clock.advance(1_000);
  const job = open[rnd.int(0, open.length - 1)]!;
  const holder = job.agentId ?? AGENTS[rnd.int(0, 2)]!;
  // The dispatcher places a queued job (now, or with a report that arrives late, for an old attempt).
  if (job.status === 'queued' && !job.agentId && rnd.next() < 0.5) {
    return send({ type: 'job_assigned', jobId: job.id, agentId: holder, previous: null, attempt: job.dispatchAttempts - rnd.int(0, 1) });
  }
  const agentId = rnd.next() < 0.1 ? AGENTS[rnd.int(0, 2)]! : holder; // sometimes the wrong agent
  const choice = rnd.int(0, 9);
  const finish = (['success', 'failed', 'cancelled'] as const)[rnd.int(0, 2)];
  switch (choice) {
    case 0:
      return send({ type: 'job_acked', jobId: job.id, agentId });
    case 1:
      return send({ type: 'job_started', jobId: job.id, agentId });
    case 2:
      return send({ type: 'job_rejected', jobId: job.id, agentId, reason: 'busy' });
    case 3:
      return send({ type: 'step_status', jobId: job.id, stepIndex: 0, status: 'running', agentId });
    case 4:
    case 5:
      return send({ type: 'job_finished', jobId: job.id, status: finish, outputs: { n: String(rnd.int(0, 9)) }, agentId });
    case 6:
      return send({ type: 'agent_lost', agentId: holder, jobIds: [job.id] });
    case 7:
      return send({ type: 'agent_back', agentId, jobIds: [job.id] });
    case 8:
      return send({ type: 'stale', jobId: job.id });
    default:
      return send({ type: 'recovery_expired', jobId: job.id });
  }
}

describe('RunActor under seeded chaos', () => {
  it('ends every run exactly once, with the outcome of its jobs, for 40 seeds', async () => {
    for (let seed = 1; seed <= 40; seed++) await chaos(seed);
  });
});
