/**
 * Runs the RunStore contract seeds. Ids are fresh UUIDs per call (the database backends need UUIDs
 * and share one database across the suite), times are epoch ms with a millisecond part so a store
 * that rounds to seconds is caught.
 */
import { randomUUID } from 'node:crypto';
import type { JobRecord, LoadedRun, RunRecord, StepRecord } from '../../src/runs/index.js';

/** The epoch of the owner that created every seeded run: every shard's row starts at it. */
export const E = 3;
export const OLDER = E - 1;
export const NEWER = E + 1;

/** The shard runs are seeded into unless a test takes one of its own; its row stays at E. */
export const SHARED_SHARD = 0;

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
export const at = (ms: number) => T0 + ms;

/** The fields the contract requires to load as `null` when unset (never `undefined`, never absent). */
export const NULLABLE_RUN_FIELDS = ['error', 'startedAt', 'timeoutMs', 'sourceId', 'repoUrl', 'ref', 'sha', 'branch', 'environment'] as const;
export const NULLABLE_JOB_FIELDS = [
  'matrix',
  'agentId',
  'previousAgentId',
  'dispatchedAt',
  'ackDeadline',
  'ackedAt',
  'recoveryDeadline',
  'lastHeartbeatAt',
  'startedAt',
  'finishedAt',
  'outputs',
  'error',
  'gate',
] as const;
export const NULLABLE_STEP_FIELDS = ['exitCode', 'error', 'startedAt', 'finishedAt'] as const;

export interface SampleRun {
  loaded: LoadedRun;
  runId: string;
  /** Job ids in plan order: build → test (20), test (22) → deploy. */
  build: string;
  test20: string;
  test22: string;
  deploy: string;
}

const config = (name: string) => ({ name, runsOn: ['os:linux'], steps: [{ name: 'a', run: 'echo a' }, { name: 'b', run: 'echo b' }] });

/**
 * A run in full flight with every field the actor reads set somewhere: a finished job with
 * outputs, a matrix pair (one running, one recovering after its agent went away) and a pending
 * downstream job with nothing set. Plan order differs from name order on purpose.
 */
export function sampleRun(run: Partial<RunRecord> = {}): SampleRun {
  const runId = randomUUID();
  const [build, test20, test22, deploy] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const job = (id: string, name: string, baseName: string, fields: Partial<JobRecord>): JobRecord => ({
    id,
    runId,
    name,
    baseName,
    matrix: null,
    config: config(baseName),
    status: 'pending',
    needsSatisfied: false,
    agentId: null,
    previousAgentId: null,
    dispatchAttempts: 0,
    dispatchedAt: null,
    ackDeadline: null,
    ackedAt: null,
    recoveryDeadline: null,
    lastHeartbeatAt: null,
    startedAt: null,
    finishedAt: null,
    outputs: null,
    error: null,
    gate: null,
    ...fields,
  });
  const step = (jobId: string, stepIndex: number, fields: Partial<StepRecord> = {}): StepRecord => ({
    jobId,
    stepIndex,
    name: stepIndex === 0 ? 'a' : 'b',
    status: 'pending',
    exitCode: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    ...fields,
  });
  const loaded: LoadedRun = {
    run: {
      id: runId,
      status: 'running',
      attempt: 2,
      workflowName: 'ci',
      ownerEpoch: E,
      error: null,
      startedAt: at(0),
      timeoutMs: 3_600_000,
      orgId: 'org_contract',
      sourceId: 'src_contract',
      repoUrl: 'file:///tmp/repo.git',
      ref: 'refs/heads/main',
      sha: 'a'.repeat(40),
      branch: 'main',
      event: { type: 'push', branch: 'main', changedFiles: ['a.ts'] },
      concurrency: { group: 'deploy-main', cancelInProgress: false, max: 1 },
      environment: null,
      ...run,
    },
    jobs: [
      job(build, 'build', 'build', {
        status: 'success',
        needsSatisfied: true,
        agentId: 'agent-2',
        previousAgentId: 'agent-1',
        dispatchAttempts: 2,
        dispatchedAt: at(1_001),
        ackDeadline: at(11_001),
        ackedAt: at(1_502),
        lastHeartbeatAt: at(5_003),
        startedAt: at(1_504),
        finishedAt: at(9_005),
        outputs: { version: '1.2.3', empty: '' },
      }),
      job(test20, 'test (20)', 'test', {
        matrix: { node: '20' },
        status: 'running',
        needsSatisfied: true,
        agentId: 'agent-1',
        dispatchAttempts: 1,
        dispatchedAt: at(9_100),
        ackDeadline: at(19_100),
        ackedAt: at(9_200),
        lastHeartbeatAt: at(12_000),
        startedAt: at(9_300),
      }),
      job(test22, 'test (22)', 'test', {
        matrix: { node: '22' },
        status: 'recovering',
        needsSatisfied: true,
        agentId: 'agent-3',
        dispatchAttempts: 1,
        dispatchedAt: at(9_100),
        ackedAt: at(9_250),
        recoveryDeadline: at(130_000),
        startedAt: at(9_350),
        error: 'agent agent-3 went away',
      }),
      job(deploy, 'deploy', 'deploy', {}),
    ],
    edges: [
      { jobId: test20, upstreamJobId: build, runOn: ['success'] },
      { jobId: test22, upstreamJobId: build, runOn: ['success'] },
      { jobId: deploy, upstreamJobId: test20, runOn: ['success', 'failed'] },
      { jobId: deploy, upstreamJobId: test22, runOn: ['success', 'failed'] },
    ],
    steps: [
      step(build, 0, { status: 'success', exitCode: 0, startedAt: at(1_600), finishedAt: at(4_000) }),
      step(build, 1, { status: 'success', exitCode: 0, startedAt: at(4_001), finishedAt: at(9_000) }),
      step(test20, 0, { status: 'running', startedAt: at(9_400) }),
      step(test20, 1),
      step(test22, 0, { status: 'failed', exitCode: 1, startedAt: at(9_400), finishedAt: at(9_999) }),
      step(test22, 1, { status: 'skipped' }),
      step(deploy, 0),
      step(deploy, 1),
    ],
  };
  return { loaded, runId, build, test20, test22, deploy };
}

/** A freshly created run: pending, one pending job, every optional field left out (undefined). */
export function bareRun(): { loaded: LoadedRun; runId: string; jobId: string } {
  const runId = randomUUID();
  const jobId = randomUUID();
  return {
    runId,
    jobId,
    loaded: {
      run: { id: runId, status: 'pending', attempt: 1, workflowName: 'ci', ownerEpoch: E, orgId: 'org_contract', sourceId: 'src_contract', event: { type: 'manual' } },
      jobs: [{ id: jobId, runId, name: 'only', baseName: 'only', config: config('only'), status: 'pending', needsSatisfied: true, dispatchAttempts: 0 }],
      edges: [],
      steps: [{ jobId, stepIndex: 0, name: 'a', status: 'pending' }],
    },
  };
}

/** Order-free views, for comparing what two stores return without assuming an order they may not keep. */
export const byId = <T extends { id: string }>(xs: readonly T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
export const sortedSteps = (xs: readonly StepRecord[]) =>
  [...xs].sort((a, b) => a.jobId.localeCompare(b.jobId) || a.stepIndex - b.stepIndex);
export const sortedEdges = <T extends { jobId: string; upstreamJobId: string }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => a.jobId.localeCompare(b.jobId) || a.upstreamJobId.localeCompare(b.upstreamJobId));
