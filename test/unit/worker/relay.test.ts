/**
 * The edge worker's relay: reports go straight to their runs while the owner is reachable and
 * nothing is held, wait durably in a real WorkerOutbox (on a temp dir) otherwise, and are replayed
 * oldest first, each removed only once its run answered. Time is a ManualClock; the direct road is
 * a scripted port that records what it is told and asked, and can refuse or hang on demand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import type { RunReports } from '../../../src/dispatch/index.js';
import type { RunMessage } from '../../../src/runs/index.js';
import { WorkerOutbox, WorkerRelay, type StoredReport } from '../../../src/worker/index.js';

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kici-worker-relay-'));
  dir = join(root, 'outbox');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const label = (runId: string, msg: RunMessage): string => `${runId} ${msg.type}${'jobId' in msg ? ` ${msg.jobId}` : ''}`;

/** The road straight to the runs, as the test scripts it. */
class ScriptedReports implements RunReports {
  readonly told: string[] = [];
  readonly asked: string[] = [];
  /** What the next asks do: answer at once, refuse (link down), or wait for `release`/`refuse`. */
  mode: 'answer' | 'reject' | 'hang' = 'answer';
  private readonly waiting: { resolve(): void; reject(e: Error): void }[] = [];

  tell(runId: string, msg: RunMessage): void {
    this.told.push(label(runId, msg));
  }

  ask(runId: string, msg: RunMessage): Promise<void> {
    this.asked.push(label(runId, msg));
    if (this.mode === 'reject') return Promise.reject(new Error('link to the owner went down'));
    if (this.mode === 'hang') return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    return Promise.resolve();
  }

  get hanging(): number {
    return this.waiting.length;
  }

  /** Answer the oldest ask still waiting. */
  release(): void {
    const w = this.waiting.shift();
    if (!w) throw new Error('no ask is waiting');
    w.resolve();
  }

  /** Refuse the oldest ask still waiting. */
  refuse(): void {
    const w = this.waiting.shift();
    if (!w) throw new Error('no ask is waiting');
    w.reject(new Error('link to the owner went down mid-way'));
  }
}

const RETRY_MS = 2_000;

function harness(options: { retryMs?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const direct = new ScriptedReports();
  const outbox = WorkerOutbox.open(dir, { maxBytes: 1024 * 1024 });
  const unreachable = new Set<string>();
  const replayed: number[] = [];
  const warnings: string[] = [];
  let held = 0;
  const relay = new WorkerRelay({
    direct,
    reachable: (runId) => !unreachable.has(runId),
    outbox,
    clock,
    retryMs: options.retryMs ?? RETRY_MS,
    onReplayed: (count) => replayed.push(count),
    onHeld: () => held++,
    warn: (_fields, msg) => warnings.push(msg),
  });
  return {
    clock,
    direct,
    outbox,
    relay,
    replayed,
    warnings,
    held: () => held,
    cut: (runId: string) => unreachable.add(runId),
    mend: (runId: string) => unreachable.delete(runId),
    /** What the outbox holds, as labels, oldest first. */
    holds: (box: WorkerOutbox = outbox) => box.list().map((e: StoredReport) => label(e.report.runId, e.report.message)),
    /** Another process's view of the same directory. */
    reopened: () => WorkerOutbox.open(dir, { maxBytes: 1024 * 1024 }),
  };
}

const acked = (jobId: string): RunMessage => ({ type: 'job_acked', jobId, agentId: 'agent-1' });
const started = (jobId: string): RunMessage => ({ type: 'job_started', jobId, agentId: 'agent-1' });
const heartbeat = (jobId: string): RunMessage => ({ type: 'job_heartbeat', jobId, agentId: 'agent-1' });
const logs = (jobId: string, text: string): RunMessage => ({ type: 'job_logs', jobId, agentId: 'agent-1', stepIndex: 0, text });
const stepDone = (jobId: string): RunMessage => ({ type: 'step_status', jobId, agentId: 'agent-1', stepIndex: 0, status: 'success', exitCode: 0 });
const finished = (jobId: string): RunMessage => ({ type: 'job_finished', jobId, agentId: 'agent-1', status: 'success', outputs: {} });
const agentBack = (jobId: string): RunMessage => ({ type: 'agent_back', agentId: 'agent-1', jobIds: [jobId] });

/** Let pending promise chains and the outbox's setImmediate fsync run (turns of the loop, not time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Hold a few reports for run-1 while its owner is away (the ask of the last waits until they are durable). */
async function holdThree(h: ReturnType<typeof harness>): Promise<void> {
  h.cut('run-1');
  h.relay.tell('run-1', started('a'));
  await h.relay.ask('run-1', stepDone('a'));
  await h.relay.ask('run-1', finished('a'));
  expect(h.holds()).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
}

describe('WorkerRelay: straight through', () => {
  it('tells and asks the run directly while its owner is reachable and nothing is held', async () => {
    const h = harness();
    h.relay.tell('run-1', acked('a'));
    h.relay.tell('run-1', heartbeat('a'));
    h.relay.tell('run-1', logs('a', 'hello\n'));
    await h.relay.ask('run-1', stepDone('a'));
    await h.relay.ask('run-1', finished('a'));
    expect(h.direct.told).toEqual(['run-1 job_acked a', 'run-1 job_heartbeat a', 'run-1 job_logs a']);
    expect(h.direct.asked).toEqual(['run-1 step_status a', 'run-1 job_finished a']);
    expect(h.outbox.depth).toBe(0);
    expect(h.held()).toBe(0);
    expect(h.reopened().depth).toBe(0);
  });

  it('passes on a direct ask that is still waiting for its run: the ask waits with it', async () => {
    const h = harness();
    h.direct.mode = 'hang';
    let done = false;
    const asked = h.relay.ask('run-1', finished('a')).then(() => (done = true));
    await settle();
    expect(h.direct.asked).toEqual(['run-1 job_finished a']);
    expect(done).toBe(false);
    h.direct.release();
    await asked;
    expect(h.outbox.depth).toBe(0);
  });
});

describe('WorkerRelay: holding while the owner is out of reach', () => {
  it('holds reports for an unreachable run and answers an ask only once the report is durable', async () => {
    const h = harness();
    h.cut('run-1');
    h.relay.tell('run-1', started('a'));
    let done = false;
    const asked = h.relay.ask('run-1', finished('a')).then(() => (done = true));
    // Written already, but not acknowledged before the directory is synced (a later turn of the loop):
    // any number of microtasks later it is still unanswered.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(done).toBe(false);
    expect(h.outbox.depth).toBe(2);
    await asked;
    expect(h.direct.told).toEqual([]);
    expect(h.direct.asked).toEqual([]);
    expect(h.holds()).toEqual(['run-1 job_started a', 'run-1 job_finished a']);
    // A process restarted now (kill -9) finds both.
    const again = h.reopened();
    expect(again.loaded.entries).toBe(2);
    expect(h.holds(again)).toEqual(['run-1 job_started a', 'run-1 job_finished a']);
    expect(again.oldest()!.report).toEqual({ runId: 'run-1', message: started('a') });
    expect(h.held()).toBe(2);
  });

  it('drops a heartbeat while the owner is away, and sends it straight once the owner is back, even behind held reports', async () => {
    const h = harness();
    h.cut('run-1');
    h.relay.tell('run-1', heartbeat('a'));
    await settle();
    expect(h.direct.told).toEqual([]);
    expect(h.outbox.depth).toBe(0);
    expect(h.held()).toBe(0);
    // The owner reachable again while the run's reports still wait for the replay: a heartbeat
    // (only "alive now") keeps the job from going stale meanwhile, and is never held.
    await h.relay.ask('run-1', finished('a'));
    h.mend('run-1');
    h.relay.tell('run-1', heartbeat('b'));
    await settle();
    expect(h.holds()).toEqual(['run-1 job_finished a']);
    expect(h.direct.told).toEqual(['run-1 job_heartbeat b']);
  });

  it('holds a run\'s later reports behind its held ones, and lets another run\'s go straight', async () => {
    const h = harness();
    h.cut('run-1');
    await h.relay.ask('run-1', stepDone('a'));
    h.mend('run-1');
    // run-1's owner is reachable again, but its later reports may not overtake the held one.
    h.relay.tell('run-1', logs('a', 'line\n'));
    await h.relay.ask('run-1', finished('a'));
    // run-2 has nothing held and its owner is reachable: not held up by run-1.
    h.relay.tell('run-2', acked('b'));
    await h.relay.ask('run-2', finished('b'));
    expect(h.direct.told).toEqual(['run-2 job_acked b']);
    expect(h.direct.asked).toEqual(['run-2 job_finished b']);
    expect(h.holds()).toEqual(['run-1 step_status a', 'run-1 job_logs a', 'run-1 job_finished a']);
  });

  it('holds a report whose direct ask was refused, and answers the ask once it is held', async () => {
    const h = harness();
    h.direct.mode = 'reject';
    await expect(h.relay.ask('run-1', finished('a'))).resolves.toBeUndefined();
    expect(h.direct.asked).toEqual(['run-1 job_finished a']);
    expect(h.warnings).toEqual(['report not answered: held in the outbox']);
    expect(h.holds(h.reopened())).toEqual(['run-1 job_finished a']);
    // Everything after it now waits behind it, though the owner is reachable.
    h.relay.tell('run-1', logs('a', 'late\n'));
    await settle();
    expect(h.direct.told).toEqual([]);
    expect(h.holds()).toEqual(['run-1 job_finished a', 'run-1 job_logs a']);
  });

  it('holds a report whose direct ask was refused after it had been waiting', async () => {
    const h = harness();
    h.direct.mode = 'hang';
    let done = false;
    const asked = h.relay.ask('run-1', finished('a')).then(() => (done = true));
    await settle();
    expect(h.outbox.depth).toBe(0);
    h.direct.refuse();
    await asked;
    expect(done).toBe(true);
    expect(h.holds()).toEqual(['run-1 job_finished a']);
  });

  it('asks messages that are never held straight, even while holding', async () => {
    const h = harness();
    h.cut('run-1');
    await h.relay.ask('run-1', finished('a'));
    await h.relay.ask('run-2', agentBack('b'));
    await h.relay.ask('run-1', agentBack('a'));
    expect(h.direct.asked).toEqual(['run-2 agent_back', 'run-1 agent_back']);
    expect(h.holds()).toEqual(['run-1 job_finished a']);
    // And their refusal is the caller's to hear: nothing of them is held.
    h.direct.mode = 'reject';
    await expect(h.relay.ask('run-2', agentBack('c'))).rejects.toThrow('link to the owner went down');
    expect(h.outbox.depth).toBe(1);
  });
});

describe('WorkerRelay: replay', () => {
  it('delivers held reports oldest first once owners are reachable, and empties the outbox', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.direct.told).toEqual([]);
    expect(h.outbox.depth).toBe(0);
    expect(h.reopened().depth).toBe(0);
    expect(h.replayed).toEqual([3]);
    // With nothing held, reports go straight again.
    h.relay.tell('run-1', logs('a', 'after\n'));
    expect(h.direct.told).toEqual(['run-1 job_logs a']);
  });

  it('removes each report only after its run answered', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.direct.mode = 'hang';
    const replay = h.relay.replay();
    await settle();
    // The first is out and unanswered: still held, and nothing after it was sent.
    expect(h.direct.asked).toEqual(['run-1 job_started a']);
    expect(h.holds()).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.holds(h.reopened())).toHaveLength(3);
    // A second replay asked meanwhile joins the one under way rather than sending again.
    const joined = h.relay.replay();
    await settle();
    expect(h.direct.asked).toHaveLength(1);
    h.direct.release();
    await settle();
    expect(h.holds()).toEqual(['run-1 step_status a', 'run-1 job_finished a']);
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a']);
    h.direct.release();
    await settle();
    h.direct.release();
    await Promise.all([replay, joined]);
    expect(h.outbox.depth).toBe(0);
    expect(h.replayed).toEqual([3]);
  });

  it('keeps a run\'s reports that arrive during its replay behind the ones being replayed', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.direct.mode = 'hang';
    const replay = h.relay.replay();
    await settle();
    h.relay.tell('run-1', acked('b'));
    await settle();
    expect(h.direct.told).toEqual([]);
    for (let i = 0; i < 4; i++) {
      h.direct.release();
      await settle();
    }
    await replay;
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a', 'run-1 job_acked b']);
    expect(h.outbox.depth).toBe(0);
  });

  it('stops at a report whose ask is refused, keeps it and the rest, and resumes there later', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.direct.mode = 'hang';
    const replay = h.relay.replay();
    await settle();
    h.direct.release(); // job_started answered
    await settle();
    h.direct.refuse(); // step_status: the link dropped before the run answered
    await replay;
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a']);
    expect(h.holds()).toEqual(['run-1 step_status a', 'run-1 job_finished a']);
    expect(h.holds(h.reopened())).toEqual(['run-1 step_status a', 'run-1 job_finished a']);
    expect(h.replayed).toEqual([1]);
    expect(h.warnings).toEqual(['held report not answered; tried again later']);

    h.direct.mode = 'answer';
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.outbox.depth).toBe(0);
    expect(h.replayed).toEqual([1, 2]);
  });

  it('skips a run whose owner is still out of reach, without asking it, and replays the others', async () => {
    const h = harness();
    h.cut('run-1');
    h.cut('run-2');
    await h.relay.ask('run-1', finished('a'));
    await h.relay.ask('run-2', finished('b'));
    h.mend('run-2');
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-2 job_finished b']);
    expect(h.holds()).toEqual(['run-1 job_finished a']);
    expect(h.replayed).toEqual([1]);
    h.mend('run-1');
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-2 job_finished b', 'run-1 job_finished a']);
    expect(h.replayed).toEqual([1, 1]);
  });

  it('replays what an earlier process held', async () => {
    const h = harness();
    await holdThree(h);
    const box = h.reopened();
    const direct = new ScriptedReports();
    const replayed: number[] = [];
    const relay = new WorkerRelay({ direct, reachable: () => true, outbox: box, clock: h.clock, onReplayed: (n) => replayed.push(n), warn: () => undefined });
    await relay.replay();
    expect(direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(replayed).toEqual([3]);
    expect(h.reopened().depth).toBe(0);
  });
});

describe('WorkerRelay: the retry timer', () => {
  it('replays on the injected clock every retryMs while something is held', async () => {
    const h = harness({ retryMs: 5_000 });
    await holdThree(h);
    // Still out of reach when the timer fires: nothing is asked, and it is armed again.
    h.clock.advance(5_000);
    await settle();
    expect(h.direct.asked).toEqual([]);
    h.mend('run-1');
    h.clock.advance(4_999);
    await settle();
    expect(h.direct.asked).toEqual([]);
    h.clock.advance(1);
    await settle();
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.outbox.depth).toBe(0);
    expect(h.replayed).toEqual([3]);
    // Nothing held: no timer is left running.
    h.clock.advance(60_000);
    await settle();
    expect(h.direct.asked).toHaveLength(3);
  });

  it('tries again after a refused replay, on the next tick of the timer', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.direct.mode = 'reject';
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-1 job_started a']);
    h.direct.mode = 'answer';
    h.clock.advance(RETRY_MS - 1);
    await settle();
    expect(h.direct.asked).toHaveLength(1);
    h.clock.advance(1);
    await settle();
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.outbox.depth).toBe(0);
    expect(h.replayed).toEqual([3]);
  });

  it('uses two seconds when no retryMs is given', async () => {
    const clock = new ManualClock(0);
    const direct = new ScriptedReports();
    let reachable = false;
    const relay = new WorkerRelay({ direct, reachable: () => reachable, outbox: WorkerOutbox.open(dir, { maxBytes: 1024 * 1024 }), clock, warn: () => undefined });
    await relay.ask('run-1', finished('a'));
    reachable = true;
    clock.advance(1_999);
    await settle();
    expect(direct.asked).toEqual([]);
    clock.advance(1);
    await settle();
    expect(direct.asked).toEqual(['run-1 job_finished a']);
  });

  it('stop() cancels the timer and later replays', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.relay.stop();
    h.clock.advance(10 * RETRY_MS);
    await settle();
    await h.relay.replay();
    expect(h.direct.asked).toEqual([]);
    expect(h.outbox.depth).toBe(3);
    expect(h.replayed).toEqual([]);
  });

  it('stop() during a replay ends it after the report in flight, which is still removed', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.direct.mode = 'hang';
    const replay = h.relay.replay();
    await settle();
    h.relay.stop();
    h.direct.release();
    await replay;
    expect(h.direct.asked).toEqual(['run-1 job_started a']);
    expect(h.holds()).toEqual(['run-1 step_status a', 'run-1 job_finished a']);
    expect(h.replayed).toEqual([1]);
    h.clock.advance(10 * RETRY_MS);
    await settle();
    expect(h.direct.asked).toHaveLength(1);
  });
});

describe('WorkerRelay: what a node says of its agents', () => {
  const back = (jobId: string): RunMessage => ({ type: 'agent_back', agentId: 'agent-1', jobIds: [jobId] });
  const lost = (jobId: string): RunMessage => ({ type: 'agent_lost', agentId: 'agent-1', jobIds: [jobId] });

  it('does not let an agent_back overtake the run\'s held reports: it is told once they are applied', async () => {
    const h = harness();
    await holdThree(h);
    h.mend('run-1');
    h.relay.tell('run-1', back('a'));
    // Another run, nothing held, owner reachable: straight through.
    h.relay.tell('run-2', back('b'));
    await settle();
    expect(h.direct.told).toEqual(['run-2 agent_back']);
    await h.relay.replay();
    expect(h.direct.asked).toEqual(['run-1 job_started a', 'run-1 step_status a', 'run-1 job_finished a']);
    expect(h.direct.told).toEqual(['run-2 agent_back', 'run-1 agent_back']);
  });

  it('keeps an agent_lost for a run whose owner is away until the owner is reachable, and tries again on the timer', async () => {
    const h = harness();
    h.cut('run-1');
    h.relay.tell('run-1', lost('a'));
    await settle();
    expect(h.direct.told).toEqual([]);
    expect(h.outbox.depth).toBe(0);
    h.mend('run-1');
    h.clock.advance(RETRY_MS);
    await settle();
    expect(h.direct.told).toEqual(['run-1 agent_lost']);
  });
});
