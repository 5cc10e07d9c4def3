/**
 * The run domain's Dispatcher over the agent hub: a job request becomes the `job.dispatch` frame
 * (the run's event and source in KiCI's fields, the shard epoch, clone credentials when the
 * source has any), placed through the hub; cancels carry the run's shard epoch. The simulator's
 * options (no credential lookup, a stamp on each frame) change the frame and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { AgentHub, DispatchRequest, Placement, RecordAgent } from '../../../src/agents/index.js';
import { HubDispatcher, type HubDispatcherParts } from '../../../src/dispatch/index.js';
import type { JobDispatchRequest, RunRecord } from '../../../src/runs/index.js';

function request(run: Partial<RunRecord> = {}): JobDispatchRequest {
  return {
    run: { id: 'run-1', status: 'running', attempt: 2, workflowName: 'ci', orgId: 'org-1', sourceId: 'src-1', repoUrl: 'https://git.example/a.git', ref: 'refs/heads/main', sha: 'abc1234', branch: 'main', ...run },
    runId: 'run-1',
    jobId: 'job-1',
    jobName: 'build',
    baseName: 'build',
    epoch: 7,
    labels: ['linux'],
    attempt: 3,
    config: { name: 'build', steps: [] },
    matrix: null,
    needs: {} as JobDispatchRequest['needs'],
    avoidAgents: [],
  };
}

/** A hub that records what it is asked and places as told. */
function fakeHub(answer: Placement = { status: 'sent', agentId: 'agent-1' }) {
  const placed: DispatchRequest[] = [];
  const calls: unknown[][] = [];
  const hub = {
    place: async (req: DispatchRequest, _record: RecordAgent) => (placed.push(req), answer),
    cancel: (...args: unknown[]) => void calls.push(['cancel', ...args]),
    withdraw: (jobId: string) => (calls.push(['withdraw', jobId]), true),
    closeSilentAgent: (...args: unknown[]) => (calls.push(['closeSilentAgent', ...args]), 'asked'),
  };
  return { hub: hub as unknown as AgentHub, placed, calls };
}

function dispatcher(hub: AgentHub, parts: Partial<HubDispatcherParts> = {}) {
  return new HubDispatcher({ hub, epochOfRun: () => 11, ...parts });
}

const record: RecordAgent = async () => {};

describe('HubDispatcher', () => {
  it('builds the frame from the run and its event, with the source\'s clone credentials, and reports where it went', async () => {
    const { hub, placed } = fakeHub();
    const lookups: unknown[][] = [];
    const d = dispatcher(hub, { gitAuth: async (run) => (lookups.push([run.sourceId, run.orgId]), { username: 'x-token', password: 's3cret' }) });
    const result = await d.dispatch(request({ event: { type: 'tag', repo: 'acme/a' } }), record);
    expect(result).toEqual({ status: 'assigned', agentId: 'agent-1' });
    expect(lookups).toEqual([['src-1', 'org-1']]);
    expect(placed).toHaveLength(1);
    const [p] = placed;
    expect(p).toMatchObject({ runId: 'run-1', jobId: 'job-1', attempt: 3, runsOn: ['linux'] });
    expect(p!.frame).toEqual({
      runId: 'run-1',
      jobId: 'job-1',
      jobName: 'build',
      workflow: 'ci',
      repoUrl: 'https://git.example/a.git',
      ref: 'refs/heads/main',
      sha: 'abc1234',
      repo: 'acme/a',
      branch: 'main',
      event: 'tag',
      attempt: 2,
      epoch: 7,
      jobConfig: { name: 'build', steps: [] },
      matrix: undefined,
      needs: {},
      gitAuth: { username: 'x-token', password: 's3cret' },
      maxLogSizeBytes: 10 * 1024 * 1024,
    });
  });

  it('falls back to the repository URL and a push when the run has no event; a queued job is reported queued', async () => {
    const { hub, placed } = fakeHub({ status: 'queued' });
    const result = await dispatcher(hub, { gitAuth: async () => undefined }).dispatch(request({ event: undefined }), record);
    expect(result).toEqual({ status: 'queued' });
    expect(placed[0]!.frame).toMatchObject({ repo: 'https://git.example/a.git', event: 'push', gitAuth: undefined });
  });

  it('without a credential lookup, places in the same turn, with the stamp on the frame', () => {
    const { hub, placed } = fakeHub();
    const d = dispatcher(hub, { stamp: (frame, req) => Object.assign(frame, { simDispatchAttempt: req.attempt }) });
    void d.dispatch(request(), record);
    // No await yet: nothing between the run's request and the hub may yield (the simulator's event order depends on it).
    expect(placed).toHaveLength(1);
    expect(placed[0]!.frame).toMatchObject({ epoch: 7, gitAuth: undefined, simDispatchAttempt: 3 });
  });

  it('cancels at the run\'s shard epoch, withdraws from the queue, and closes an agent that never acked', () => {
    const { hub, calls } = fakeHub();
    const epochs: string[] = [];
    const d = dispatcher(hub, { epochOfRun: (runId) => (epochs.push(runId), 11) });
    d.cancel({ runId: 'run-1', jobId: 'job-1', agentId: 'agent-1', force: true, reason: 'cancelled by user' });
    d.withdraw('run-1', 'job-2');
    // What the hub found decides whether the run places the job again.
    expect(d.ackTimedOut('agent-1', 'job-3')).toBe('asked');
    expect(epochs).toEqual(['run-1']);
    expect(calls).toEqual([
      ['cancel', { runId: 'run-1', jobId: 'job-1' }, 'cancelled by user', true, 11, 'agent-1'],
      ['withdraw', 'job-2'],
      ['closeSilentAgent', 'agent-1', 'job-3'],
    ]);
  });
});
