import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, waitFor, type Frame } from '../server/orchestrator-rig.js';

/**
 * A job that waits for an agent says why, and operators can see which agents are connected.
 * Over real HTTP and real agent sockets.
 */
const GPU_LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'train', runsOn: ['gpu'], steps: [{ name: 'fit', run: 'true' }] }] }],
};

describe('jobs waiting for an agent, and the agents connected', () => {
  let rig: OrchestratorRig;
  let runId: string;

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
    const source = await rig.gitSource(GPU_LOCKFILE, 'gpu-wait');
    expect((await rig.push(source, 'wait-1')).status).toBe(202);
    runId = await waitFor('the run', async () => ((await rig.api('GET', '/runs?limit=1')).runs as Frame[])[0]?.id as string | undefined);
  });
  afterAll(() => rig?.close());

  const train = async () => ((await rig.api('GET', `/runs/${runId}`)).jobs as Frame[])[0];

  it('says that no agent is connected', async () => {
    const job = await waitFor('the queued job', async () => ((await train())?.status === 'queued' ? train() : undefined));
    expect(job.waiting).toBe('no agent is connected');
  });

  it('says which labels no connected agent has, and how many agents are connected', async () => {
    const token = await rig.agentToken();
    const cpu = await rig.connectAgent('cpu-1', token);
    const other = await rig.connectAgent('cpu-2', token);
    expect((await train()).waiting).toBe('no connected agent has labels gpu; 2 agents connected');
    const { agents } = (await rig.api('GET', '/agents')) as { agents: Frame[] };
    expect(agents.map((a) => a.id).sort()).toEqual(['cpu-1', 'cpu-2']);
    expect(agents[0]).toMatchObject({ labels: ['linux'], slotsInUse: 0, maxConcurrency: 1, version: '0.1.0', hostname: 'it' });
    cpu.close();
    other.close();
  });

  it('stops explaining once an agent with the labels takes the job', async () => {
    const token = await rig.agentToken();
    const gpu = await rig.connectAgent('gpu-1', token);
    gpu.send({ type: 'agent.register', agentId: 'gpu-1', labels: ['linux', 'gpu'], platform: 'linux', arch: 'x64', version: '0.1.0', hostname: 'it', maxConcurrency: 1 });
    const dispatch = await gpu.next('job.dispatch');
    gpu.send({ type: 'job.ack', runId, jobId: dispatch.jobId });
    const job = await waitFor('the job on gpu-1', async () => ((await train()).agentId === 'gpu-1' ? train() : undefined));
    expect(job.waiting).toBeUndefined();
    const { agents } = (await rig.api('GET', '/agents')) as { agents: Frame[] };
    expect(agents.find((a) => a.id === 'gpu-1')).toMatchObject({ slotsInUse: 1 });
    gpu.close();
  });
});
