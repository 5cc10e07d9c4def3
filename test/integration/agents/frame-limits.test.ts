import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, waitFor, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';

/**
 * A real `ws` client floods a real orchestrator: it is warned, then closed with 4003 once the flood
 * outlasts 5 s; a job result sent inside the flood is still recorded; other agents and `/health`
 * are served throughout.
 */
let rig: OrchestratorRig;
let source: GitOrigin;
let token: string;

beforeAll(async () => {
  rig = await OrchestratorRig.start();
  source = await rig.gitSource();
  token = await rig.agentToken();
});

afterAll(async () => {
  await rig?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logFrame = (n: number) => ({ type: 'agent.log', lines: [`flood line ${n}`] });

describe('agent frame limits against a real orchestrator', () => {
  it('warns a flooding agent, records its job result anyway, then closes it with 4003 while serving the rest', async () => {
    const flooder = await rig.connectAgent('agent-flood', token);
    expect((await rig.push(source, 'flood-delivery')).status).toBe(202);
    const dispatch = await flooder.next('job.dispatch');
    const job = { runId: dispatch.runId as string, jobId: dispatch.jobId as string };
    flooder.send({ type: 'job.ack', ...job });
    flooder.send(flooder.stamped({ type: 'job.status', ...job, state: 'running' }));
    const bystander = await rig.connectAgent('agent-calm', token);

    // 300 frames at once: 100 over the burst of 200.
    let sent = 0;
    for (; sent < 300; sent++) flooder.send(logFrame(sent));
    const warning = await flooder.next('rate.limit.warning');
    expect(warning.retryAfterMs).toEqual(expect.any(Number));
    const warnedAt = Date.now();

    // Keep flooding at about 3000 frames a second; a terminal status goes out in the middle of it.
    const result = flooder.stamped({ type: 'job.status', ...job, state: 'success' });
    const health: number[] = [];
    let tick = 0;
    while (flooder.isOpen && tick < 1000) {
      for (let i = 0; i < 30; i++) flooder.send(logFrame(sent++));
      if (tick === 50) flooder.send(result);
      if (tick % 25 === 0) {
        health.push((await fetch(`${rig.url}/health`)).status);
        bystander.send({ type: 'heartbeat', timestamp: Date.now() });
      }
      tick++;
      await sleep(10);
    }

    const closed = await flooder.closed;
    expect(closed.code).toBe(4003);
    expect(closed.reason).toMatch(/rate limit/);
    // Closed for a sustained flood (> 5 s of violations), not on the first warning.
    expect(Date.now() - warnedAt).toBeGreaterThan(4_000);
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
