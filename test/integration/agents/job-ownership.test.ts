import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, waitFor, type Frame, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';

/**
 * A job belongs to the agent it was dispatched to. Over real sockets: a job waits for a `gpu` agent
 * while an agent with a valid token but without that label speaks about it with every job message
 * the protocol has. None may change the job, store a log line or take the job; each earns the
 * speaker a job.cancel. Then the real holder runs the job, and its own late log lines still count.
 */
const GPU_LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'ci',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'train', runsOn: ['gpu'], steps: [{ name: 'fit', run: 'true' }, { name: 'report', run: 'true' }] }],
    },
  ],
};

describe('job ownership over real sockets', () => {
  let rig: OrchestratorRig;
  let token: string;
  let source: GitOrigin;
  let job: { runId: string; jobId: string };

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
    token = await rig.agentToken();
    source = await rig.gitSource(GPU_LOCKFILE, 'gpu-repo');
    expect((await rig.push(source, 'gpu-1')).status).toBe(202);
    job = await waitFor('the queued job', async () => {
      const runs = (await rig.api('GET', '/runs?limit=5')).runs as Frame[];
      if (runs.length === 0) return undefined;
      const jobs = (await rig.api('GET', `/runs/${runs[0].id as string}`)).jobs as Frame[];
      return jobs[0]?.status === 'queued' ? { runId: runs[0].id as string, jobId: jobs[0].id as string } : undefined;
    });
  });
  afterAll(() => rig?.close());

  const jobView = async () => ((await rig.api('GET', `/runs/${job.runId}`)).jobs as Frame[])[0];
  const logText = async () => {
    const res = await fetch(`${rig.url}/api/v1/runs/${job.runId}/logs`, { headers: { authorization: `Bearer ${rig.adminToken}` } });
    return (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as Frame).text as string);
  };

  /** A connection with a valid token that was never given the job. */
  async function intruder(name: string): Promise<RawAgent> {
    return rig.connectAgent(`intruder-${name}`, token);
  }

  /** The job is as the dispatcher left it: queued, with nobody on it, its steps untouched. */
  async function expectUntouched(): Promise<void> {
    const view = await jobView();
    expect(view).toMatchObject({ status: 'queued', agentId: null });
    expect((view.steps as Frame[]).map((s) => s.status)).toEqual(['pending', 'pending']);
  }

  const refusals: [string, (agent: RawAgent) => Frame][] = [
    ['job.ack', () => ({ type: 'job.ack', ...job })],
    ['job.reject', () => ({ type: 'job.reject', ...job, reason: 'busy' })],
    ['job.status running', (a) => a.stamped({ type: 'job.status', ...job, state: 'running' })],
    ['job.status success', (a) => a.stamped({ type: 'job.status', ...job, state: 'success' })],
    ['step.status', (a) => a.stamped({ type: 'step.status', ...job, stepIndex: 0, stepName: 'fit', state: 'success', exitCode: 0 })],
    ['job.heartbeat', () => ({ type: 'job.heartbeat', ...job })],
  ];

  for (const [name, frame] of refusals) {
    it(`refuses ${name} from an agent the job was never dispatched to, and cancels the job there`, async () => {
      const agent = await intruder(name.replace(/\W+/g, '-'));
      agent.send(frame(agent));
      const cancel = await agent.next('job.cancel');
      expect(cancel).toMatchObject({ jobId: job.jobId, runId: job.runId, force: true });
      await expectUntouched();
      agent.close();
    });
  }

  it('never stores a spoofed log line', async () => {
    const agent = await intruder('log');
    agent.send({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['spoofed: all tests passed'] });
    await agent.next('job.cancel');
    expect(await logText()).toEqual([]);
    await expectUntouched();
    agent.close();
  });

  it('disconnects an agent after five refused messages within a minute (4003)', async () => {
    const agent = await intruder('repeat');
    for (let i = 0; i < 5; i++) agent.send({ type: 'job.heartbeat', ...job });
    expect((await agent.closed).code).toBe(4003);
    await expectUntouched();
  });

  it('lets the holder run the job, keeps its late log lines, and still refuses others', async () => {
    const gpu = await rig.connectAgent('gpu-1', token);
    // connectAgent registers with `linux` only; register again with the label the job needs.
    gpu.send({ type: 'agent.register', agentId: 'gpu-1', labels: ['linux', 'gpu'], platform: 'linux', arch: 'x64', version: '0.1.0', hostname: 'it', maxConcurrency: 1 });
    const dispatch = await gpu.next('job.dispatch');
    expect(dispatch).toMatchObject(job);
    gpu.send({ type: 'job.ack', ...job });
    gpu.send(gpu.stamped({ type: 'job.status', ...job, state: 'running' }));
    gpu.send({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['fitting'] });
    for (const stepIndex of [0, 1]) gpu.send(gpu.stamped({ type: 'step.status', ...job, stepIndex, stepName: `s${stepIndex}`, state: 'success', exitCode: 0 }));
    gpu.send(gpu.stamped({ type: 'job.status', ...job, state: 'success' }));
    await waitFor('the run to succeed', async () => ((await rig.api('GET', `/runs/${job.runId}`)).status === 'success' ? true : undefined));
    expect(await jobView()).toMatchObject({ status: 'success', agentId: 'gpu-1' });

    // The holder's late lines (a replay after an outage) are kept, and it is not told to cancel.
    gpu.send({ type: 'log.chunk', ...job, stepIndex: 1, lines: ['late line'] });
    await waitFor('the late line', async () => ((await logText()).includes('late line') ? true : undefined));
    expect(gpu.frames.filter((f) => f.type === 'job.cancel')).toEqual([]);

    const other = await intruder('after');
    other.send({ type: 'log.chunk', ...job, stepIndex: 1, lines: ['spoofed after the end'] });
    await other.next('job.cancel');
    expect(await logText()).toEqual(['fitting', 'late line']);
    other.close();
    gpu.close();
  });
});
