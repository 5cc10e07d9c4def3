import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { OrchestratorRig, waitFor, type Frame, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';

/**
 * A real `ws` client floods a real orchestrator: it is warned, then closed with 4003 once the flood
 * outlasts 5 s; a job result sent inside the flood is still recorded; other agents and `/health`
 * are served throughout. The orchestrator's clock is a ManualClock: the 5 s pass when the test says
 * so, and each step waits until the orchestrator has handled the frames sent at that moment.
 */
let rig: OrchestratorRig;
let clock: ManualClock;
let source: GitOrigin;
let token: string;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  rig = await OrchestratorRig.start({}, { clock });
  source = await rig.gitSource();
  token = await rig.agentToken();
});

afterAll(async () => {
  await rig?.close();
});

const logFrame = (n: number) => ({ type: 'agent.log', lines: [`flood line ${n}`] });
/** Half a second refills 50 frames of the budget (100/s); 80 keep the flood going. */
const STEP_MS = 500;
const FRAMES_PER_STEP = 80;

describe('agent frame limits against a real orchestrator', () => {
  it('warns a flooding agent, records its job result anyway, then closes it with 4003 while serving the rest', async () => {
    const flooder = await rig.connectAgent('agent-flood', token);
    expect((await rig.push(source, 'flood-delivery')).status).toBe(202);
    const dispatch = await flooder.next('job.dispatch');
    const job = { runId: dispatch.runId as string, jobId: dispatch.jobId as string };
    flooder.send({ type: 'job.ack', ...job });
    flooder.send(flooder.stamped({ type: 'job.status', ...job, state: 'running' }));
    const bystander = await rig.connectAgent('agent-calm', token);

    /**
     * A terminal job.status is acknowledged once it is stored, so its ack means every frame sent
     * before it on this socket has been judged at the current time. The first is the job's result,
     * inside the flood; later ones are resends, as an agent makes when an ack is slow.
     */
    const result = flooder.stamped({ type: 'job.status', ...job, state: 'success' });
    async function judged(status: Frame = flooder.stamped({ type: 'job.status', ...job, state: 'success' })): Promise<'open' | 'closed'> {
      flooder.send(status);
      const acked = flooder.next('ack', (f) => f.messageId === status.messageId).then(() => 'open' as const);
      return Promise.race([acked, flooder.closed.then(() => 'closed' as const)]);
    }

    // 300 frames at once: 100 over the burst of 200. The violations start now.
    let sent = 0;
    for (; sent < 300; sent++) flooder.send(logFrame(sent));
    const warning = await flooder.next('rate.limit.warning');
    expect(warning.retryAfterMs).toEqual(expect.any(Number));
    const warnedAt = clock.now();
    expect(await judged(result)).toBe('open');

    // The flood goes on, each step over the refill, through exactly 5 s of violations: still open.
    const health: number[] = [];
    while (clock.now() - warnedAt < 5_000) {
      clock.advance(STEP_MS);
      for (let i = 0; i < FRAMES_PER_STEP; i++) flooder.send(logFrame(sent++));
      bystander.send({ type: 'heartbeat', timestamp: clock.now() });
      health.push((await fetch(`${rig.url}/health`)).status);
      expect(await judged(), `at ${clock.now() - warnedAt} ms of flood`).toBe('open');
    }
    // Closed for a sustained flood (> 5 s of violations), not on the first warning: the next step ends it.
    clock.advance(STEP_MS);
    for (let i = 0; i < FRAMES_PER_STEP && flooder.isOpen; i++) flooder.send(logFrame(sent++));
    const closed = await flooder.closed;
    expect(closed.code).toBe(4003);
    expect(closed.reason).toMatch(/rate limit/);
    expect(health.length).toBeGreaterThan(3);
    expect(health.every((s) => s === 200)).toBe(true);

    // The result sent inside the flood was acknowledged and recorded.
    expect(flooder.frames.some((f) => f.type === 'ack' && f.messageId === result.messageId)).toBe(true);
    const run = await waitFor('the run to finish', async () => {
      const r = await rig.api('GET', `/runs/${job.runId}`);
      return r.status === 'success' ? r : undefined;
    });
    expect(run.status).toBe('success');

    // The other agent was never disturbed, and new agents are still welcome.
    expect(bystander.isOpen).toBe(true);
    expect((await fetch(`${rig.url}/health`)).status).toBe(200);
    const late: RawAgent = await rig.connectAgent('agent-late', token);
    expect(late.frames.map((f) => f.type)).toContain('register.ack');
    late.close();
    bystander.close();
  });
});
