import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, waitFor, type Frame, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';
import { kiciAdmin } from './admin-cli-run.js';

/**
 * `kici-admin runs logs` against a real orchestrator whose jobs a hand-driven agent runs: a job
 * name the run does not have is an error naming the run's jobs, and --follow ends with the run's
 * final status and an exit code that says whether it succeeded.
 */
const NOWHERE_LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'deploy', runsOn: ['nowhere'], steps: [{ name: 'ship', run: 'true' }] }] }],
};

describe('kici-admin runs logs', () => {
  let rig: OrchestratorRig;
  let token: string;
  let source: GitOrigin;
  let stuck: GitOrigin;
  let pushes = 0;

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
    token = await rig.agentToken();
    source = await rig.gitSource();
    // Its job asks for a label no agent has, so its run stays queued until cancelled.
    stuck = await rig.gitSource(NOWHERE_LOCKFILE, 'stuck');
  });
  afterAll(() => rig?.close());

  const admin = (argv: string[]) => kiciAdmin(['--url', rig.url, '--token', rig.adminToken, ...argv]);

  /** A new run of `origin` (each push a new commit under its own delivery id), once its job exists. */
  async function newRun(origin: GitOrigin): Promise<{ runId: string; jobId: string }> {
    const deliveryId = `logs-${++pushes}`;
    expect((await rig.push(rig.nextCommit(origin), deliveryId)).status).toBe(202);
    return waitFor('the run of the push', async () => {
      const run = ((await rig.api('GET', '/runs?limit=50')).runs as Frame[]).find((r) => r.deliveryId === `${origin.id}:${deliveryId}`);
      if (!run) return undefined;
      const jobs = (await rig.api('GET', `/runs/${run.id as string}`)).jobs as Frame[];
      return jobs[0] ? { runId: run.id as string, jobId: jobs[0].id as string } : undefined;
    });
  }

  /** Connect an agent, take the run's job and start it, logging `line` in step 0. */
  async function startJob(line: string): Promise<{ agent: RawAgent; job: { runId: string; jobId: string } }> {
    const agent = await rig.connectAgent(`logs-agent-${pushes + 1}`, token);
    const { runId } = await newRun(source);
    const dispatch = await agent.next('job.dispatch', (f) => f.runId === runId);
    const job = { runId, jobId: dispatch.jobId as string };
    agent.send({ type: 'job.ack', ...job });
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'running' }));
    agent.send(agent.stamped({ type: 'log.chunk', ...job, stepIndex: 0, lines: [line] }));
    return { agent, job };
  }

  async function finishJob(agent: RawAgent, job: { runId: string; jobId: string }, state: 'success' | 'failed'): Promise<void> {
    agent.send(agent.stamped({ type: 'step.status', ...job, stepIndex: 0, stepName: 'compile', state, exitCode: state === 'success' ? 0 : 2 }));
    const done = agent.stamped({ type: 'job.status', ...job, state });
    agent.send(done);
    await agent.next('ack', (f) => f.messageId === done.messageId);
  }

  it('--job with a name the run does not have exits 1 naming the job and the run’s jobs', async () => {
    const { runId } = await newRun(stuck);
    const r = await admin(['runs', 'logs', runId, '--job', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('no job "nosuch"');
    expect(r.err).toContain('its jobs: deploy');
    expect(r.err).toContain('404');
    // A job it does have is fine, even with no lines yet.
    expect(await admin(['runs', 'logs', runId, '--job', 'deploy'])).toMatchObject({ code: 0, out: '' });
  });

  it('--follow on a run that fails prints its lines, then its final status, and exits 1', async () => {
    const { agent, job } = await startJob('compiling the failing one');
    try {
      const following = admin(['runs', 'logs', job.runId, '--follow']);
      await finishJob(agent, job, 'failed');
      const r = await following;
      expect(r.err).toBe('');
      expect(r.code).toBe(1);
      const lines = r.out.trimEnd().split('\n');
      expect(lines).toContain('[build #1 compile] compiling the failing one');
      expect(lines.at(-1)).toMatch(new RegExp(`^run ${job.runId}: failed`));
    } finally {
      agent.close();
    }
  });

  it('--follow on a run that succeeds ends with "success" and exits 0', async () => {
    const { agent, job } = await startJob('compiling the good one');
    try {
      const following = admin(['runs', 'logs', job.runId, '--follow']);
      await finishJob(agent, job, 'success');
      const r = await following;
      expect(r.code).toBe(0);
      expect(r.out.trimEnd().split('\n')).toEqual(['[build #1 compile] compiling the good one', `run ${job.runId}: success`]);
    } finally {
      agent.close();
    }
  });

  it('--follow --json keeps stdout to log lines and puts the status on stderr', async () => {
    const { agent, job } = await startJob('compiling as json');
    try {
      const following = admin(['runs', 'logs', job.runId, '--follow', '--json']);
      await finishJob(agent, job, 'failed');
      const r = await following;
      expect(r.code).toBe(1);
      expect(r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Frame)).toEqual([{ job: 'build', step: 0, stepName: 'compile', text: 'compiling as json' }]);
      expect(r.err).toMatch(new RegExp(`^run ${job.runId}: failed`));
    } finally {
      agent.close();
    }
  });

  it('--follow on a cancelled run ends with "cancelled" and exits 1', async () => {
    const { runId } = await newRun(stuck);
    const following = admin(['runs', 'logs', runId, '--follow']);
    await rig.api('POST', `/runs/${runId}/cancel`, {});
    const r = await following;
    expect(r.code).toBe(1);
    expect(r.out.trimEnd()).toMatch(new RegExp(`^run ${runId}: cancelled( \\(.+\\))?$`));
  });
});
