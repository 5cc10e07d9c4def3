/**
 * The check-run reporter against the real GitHub client and the GitHub API stand-in on loopback
 * (test/support/github-standin.ts): real HTTP, real tokens, the stand-in's recorded check runs
 * and their call history. Time (debounce, retry backoff, forgetting) is a ManualClock; the test
 * waits for the reporter's calls with `settled()`, never with sleeps.
 *
 * The records are built by hand and changed the way the run actor changes them (it hands the
 * reporter its live objects and keeps changing them afterwards).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckRunReporter, DEFAULT_DEBOUNCE_MS, type CheckRunApi, type CheckRunReporterDeps, type CheckTarget } from '../../../src/check-runs/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { GitHubApp } from '../../../src/github/index.js';
import type { JobRecord, JobStatus, RunRecord, StepRecord, StepStatus } from '../../../src/runs/index.js';
import { GitHubStandIn, type RecordedCheckRun } from '../../support/github-standin.js';

const APP_ID = 5151;
const INSTALLATION = 91;
const STRANGER_INSTALLATION = 92;
const OWNER = 'octokit-fixture-org';
const REPO = 'hello-world';
const START = Date.UTC(2026, 0, 5, 9, 0, 0);

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const appKey = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
let standin: GitHubStandIn;
let app: GitHubApp;
/** Every `failed` report of every reporter, checked for credentials at the end. */
const failures: { error: unknown; what: string }[] = [];
let shaCounter = 0;

beforeAll(async () => {
  standin = await new GitHubStandIn({ appId: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() }).start();
  standin.install(INSTALLATION, [`${OWNER}/${REPO}`]);
  standin.install(STRANGER_INSTALLATION, ['someone-else/theirs']);
  app = new GitHubApp({ appId: APP_ID, privateKey: appKey, baseUrl: standin.url, timeoutMs: 5_000 });
});

afterAll(async () => {
  await standin?.stop();
});

/** GitHubApp as the composition root adapts it; `gate` holds creates back (a slow GitHub). */
function apiOf(gate?: { open: Promise<void> }): CheckRunApi {
  return {
    create: async (target, run) => {
      await gate?.open;
      return app.createCheckRun(target.owner, target.repo, run, { installationId: target.installationId });
    },
    update: (target, id, fields) => app.updateCheckRun(target.owner, target.repo, id, fields, { installationId: target.installationId }),
    find: (target, sha, name) => app.findCheckRuns(target.owner, target.repo, sha, name, { installationId: target.installationId }),
  };
}

interface Harness {
  clock: ManualClock;
  reporter: CheckRunReporter;
  counts: Map<string, number>;
  failed: { error: unknown; what: string }[];
  targetLookups: string[];
  logReads: { runId: string; jobId: string; stepIndex: number; lines: number }[];
}

function harness(options: { clock?: ManualClock; api?: CheckRunApi; target?: CheckTarget | null; deps?: Partial<CheckRunReporterDeps> } = {}): Harness {
  const clock = options.clock ?? new ManualClock(START);
  const counts = new Map<string, number>();
  const failed: Harness['failed'] = [];
  const targetLookups: string[] = [];
  const logReads: Harness['logReads'] = [];
  const target = options.target === undefined ? { sourceId: 'gh-1', owner: OWNER, repo: REPO, installationId: INSTALLATION } : options.target;
  const reporter = new CheckRunReporter({
    clock,
    api: options.api ?? apiOf(),
    targetOf: async (run) => {
      targetLookups.push(run.id);
      return target ?? undefined;
    },
    logTail: async (runId, jobId, stepIndex, lines) => {
      logReads.push({ runId, jobId, stepIndex, lines });
      // Thirty lines logged; the reporter asks for the last `lines` of them.
      const all = Array.from({ length: 30 }, (_, i) => `\u001b[31m${jobId} step ${stepIndex} line ${String(i + 1).padStart(2, '0')}\u001b[0m`);
      return all.slice(-lines);
    },
    detailsUrl: (run, job) => `https://kici.example/runs/${run.id}${job ? `/jobs/${job.id}` : ''}`,
    count: (operation, result) => counts.set(`${operation}:${result}`, (counts.get(`${operation}:${result}`) ?? 0) + 1),
    failed: (error, what) => {
      failed.push({ error, what });
      failures.push({ error, what });
    },
    ...options.deps,
  });
  return { clock, reporter, counts, failed, targetLookups, logReads };
}

/** A run of workflow `build` on a fresh commit, with its jobs and steps as the run actor holds them. */
class RunModel {
  readonly run: RunRecord;
  readonly jobs: JobRecord[] = [];
  readonly steps: StepRecord[] = [];

  constructor(id: string, jobs: { name: string; steps: string[] }[], over: Partial<RunRecord> = {}) {
    const sha = (++shaCounter).toString(16).padStart(40, 'd');
    this.run = { id, status: 'pending', attempt: 1, workflowName: 'build', orgId: 'org-1', sourceId: 'gh-1', sha, ref: 'refs/heads/main', ...over };
    for (const [i, spec] of jobs.entries()) {
      const job: JobRecord = { id: `${id}-job${i}`, runId: id, name: spec.name, baseName: spec.name.split(' ')[0]!, config: {}, status: 'pending', needsSatisfied: true, dispatchAttempts: 0 };
      this.jobs.push(job);
      spec.steps.forEach((name, stepIndex) => this.steps.push({ jobId: job.id, stepIndex, name, status: 'pending' }));
    }
  }

  get sha(): string {
    return this.run.sha!;
  }

  job(name: string): JobRecord {
    return this.jobs.find((j) => j.name === name)!;
  }

  stepsOf(job: JobRecord): StepRecord[] {
    return this.steps.filter((s) => s.jobId === job.id);
  }

  start(reporter: CheckRunReporter, at: number): void {
    Object.assign(this.run, { status: 'running', startedAt: at });
    reporter.runStarted(this.run, this.jobs, this.steps);
  }

  setJob(reporter: CheckRunReporter, name: string, status: JobStatus, at: number, error?: string): void {
    const job = this.job(name);
    Object.assign(job, { status }, status === 'running' ? { startedAt: at, agentId: 'agent-1' } : {}, isEnd(status) ? { finishedAt: at, error: error ?? null } : {});
    reporter.jobChanged(this.run, job, this.stepsOf(job));
  }

  setStep(reporter: CheckRunReporter, name: string, stepIndex: number, status: StepStatus, at: number): void {
    const job = this.job(name);
    const step = this.stepsOf(job).find((s) => s.stepIndex === stepIndex)!;
    Object.assign(step, { status }, status === 'running' ? { startedAt: at } : { finishedAt: at, exitCode: status === 'failed' ? 1 : 0 });
    reporter.stepChanged(this.run, job, step);
  }

  complete(reporter: CheckRunReporter, status: 'success' | 'failed' | 'cancelled', error: string | null = null): void {
    Object.assign(this.run, { status, error });
    reporter.runCompleted(this.run, this.jobs);
  }
}

function isEnd(status: JobStatus): boolean {
  return ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'].includes(status);
}

function checksOn(sha: string): RecordedCheckRun[] {
  return [...standin.checkRuns.values()].filter((c) => c.head_sha === sha);
}

function check(sha: string, name: string): RecordedCheckRun {
  const found = checksOn(sha).filter((c) => c.name === name);
  expect(found, `one check named ${name}`).toHaveLength(1);
  return found[0]!;
}

function methods(recorded: RecordedCheckRun): string[] {
  return recorded.history.map((h) => h.method);
}

describe('a run reported as check runs', () => {
  it('creates the workflow check and one check per job record, queued, when the run starts', async () => {
    const h = harness();
    const model = new RunModel('run-queued', [
      { name: 'lint', steps: ['install', 'lint'] },
      { name: 'test (20, 1)', steps: ['test'] },
      { name: 'test (22, 1)', steps: ['test'] },
    ]);
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();

    expect(checksOn(model.sha).map((c) => c.name).sort()).toEqual(['kici/build', 'kici/build/job/lint', 'kici/build/job/test (20, 1)', 'kici/build/job/test (22, 1)']);
    const workflow = check(model.sha, 'kici/build');
    expect(workflow.history).toHaveLength(1);
    expect(workflow.history[0]!.body).toMatchObject({
      name: 'kici/build',
      head_sha: model.sha,
      status: 'queued',
      external_id: 'run-queued',
      details_url: 'https://kici.example/runs/run-queued',
    });
    const matrixChild = check(model.sha, 'kici/build/job/test (22, 1)');
    expect(matrixChild.history[0]!.body).toMatchObject({ status: 'queued', external_id: 'run-queued/run-queued-job2', details_url: 'https://kici.example/runs/run-queued/jobs/run-queued-job2' });
    expect(matrixChild.output?.summary).toContain('**test**');
    expect(h.counts.get('create:ok')).toBe(4);
    expect(h.targetLookups).toEqual(['run-queued']);
    expect(h.failed).toEqual([]);
  });

  it('goes in_progress at once, batches later step progress by the debounce window, then completes with the failing step\'s last lines', async () => {
    const h = harness();
    const model = new RunModel('run-life', [
      { name: 'unit', steps: ['checkout', 'install', 'test'] },
      { name: 'docs', steps: ['build docs'] },
    ]);
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();
    const unit = () => check(model.sha, 'kici/build/job/unit');
    const workflow = () => check(model.sha, 'kici/build');

    // The agent took the job and started its first step: in progress without waiting.
    model.setJob(h.reporter, 'unit', 'running', h.clock.now());
    model.setStep(h.reporter, 'unit', 0, 'running', h.clock.now());
    await h.reporter.settled();
    expect(unit().status).toBe('in_progress');
    expect(methods(unit())).toEqual(['POST', 'PATCH']);
    expect(unit().history[1]!.body).toMatchObject({ status: 'in_progress', started_at: new Date(START).toISOString() });
    expect(workflow().status).toBe('in_progress');

    // Four step changes within the window: nothing yet, then one update with the newest state.
    h.clock.advance(1_000);
    model.setStep(h.reporter, 'unit', 0, 'success', h.clock.now());
    model.setStep(h.reporter, 'unit', 1, 'running', h.clock.now());
    h.clock.advance(1_000);
    model.setStep(h.reporter, 'unit', 1, 'success', h.clock.now());
    model.setStep(h.reporter, 'unit', 2, 'running', h.clock.now());
    await h.reporter.settled();
    expect(methods(unit())).toEqual(['POST', 'PATCH']);
    h.clock.advance(2_999);
    await h.reporter.settled();
    expect(methods(unit())).toEqual(['POST', 'PATCH']);
    h.clock.advance(1);
    await h.reporter.settled();
    expect(methods(unit())).toEqual(['POST', 'PATCH', 'PATCH']);
    const progress = unit().history[2]!.body as { status: string; output: { title: string; summary: string } };
    expect(progress.status).toBe('in_progress');
    expect(progress.output.title).toBe('Running step 3 of 3: test');
    expect(progress.output.summary).toMatch(/✅ \*\*checkout\*\* \(success\)[\s\S]*✅ \*\*install\*\* \(success\)[\s\S]*⏳ \*\*test\*\* \(running\)/);

    // The last step fails; progress still waiting is dropped and the check completes at once.
    h.clock.advance(1_000);
    model.setStep(h.reporter, 'unit', 2, 'failed', h.clock.now());
    model.setJob(h.reporter, 'unit', 'failed', h.clock.now(), 'step "test" exited with code 1');
    await h.reporter.settled();
    expect(unit()).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(methods(unit())).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH']);
    const done = unit().history[3]!.body as { completed_at: string; output: { title: string; summary: string } };
    expect(done.completed_at).toBe(new Date(h.clock.now()).toISOString());
    expect(done.output.title).toBe('Failed at step test');
    // The last 20 of 30 lines, without their colours.
    expect(done.output.summary).toContain('run-life-job0 step 2 line 30');
    expect(done.output.summary).toContain('run-life-job0 step 2 line 11');
    expect(done.output.summary).not.toContain('line 10');
    expect(done.output.summary).not.toContain('\u001b[');
    expect(done.output.summary).toContain('step "test" exited with code 1');
    expect(h.logReads).toEqual([{ runId: 'run-life', jobId: 'run-life-job0', stepIndex: 2, lines: 20 }]);
    h.clock.advance(10_000);
    await h.reporter.settled();
    expect(unit().history).toHaveLength(4);

    // The other job is skipped; the run fails; the workflow check concludes with the run.
    model.setJob(h.reporter, 'docs', 'skipped', h.clock.now(), 'skipped: needs unit, which ended failed');
    model.complete(h.reporter, 'failed', 'job "unit" failed: step "test" exited with code 1');
    await h.reporter.settled();
    expect(check(model.sha, 'kici/build/job/docs')).toMatchObject({ status: 'completed', conclusion: 'skipped' });
    expect(workflow()).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(workflow().output?.summary).toContain('❌ **unit** (failure)');
    expect(workflow().output?.summary).toContain('⏭️ **docs** (skipped)');
    expect(workflow().output?.summary).toContain('job "unit" failed');
    // Nothing after completion: a late event for the run changes nothing.
    const calls = standin.requests.length;
    model.setJob(h.reporter, 'unit', 'running', h.clock.now());
    await h.reporter.settled();
    expect(standin.requests.length).toBe(calls);
    expect(h.failed).toEqual([]);
  });

  it('sends a completed check\'s summary once more when the failing step\'s last lines arrive after its status', async () => {
    const logged = ['compiling'];
    const h = harness({ deps: { logTail: async (_r, _j, _s, lines) => logged.slice(-lines) } });
    const model = new RunModel('run-late-logs', [{ name: 'unit', steps: ['test'] }]);
    model.start(h.reporter, h.clock.now());
    model.setJob(h.reporter, 'unit', 'running', h.clock.now());
    model.setStep(h.reporter, 'unit', 0, 'running', h.clock.now());
    model.setStep(h.reporter, 'unit', 0, 'failed', h.clock.now());
    model.setJob(h.reporter, 'unit', 'failed', h.clock.now(), 'step "test" exited with code 1');
    await h.reporter.settled();
    const unit = () => check(model.sha, 'kici/build/job/unit');
    expect(unit().output?.summary).toContain('compiling');
    expect(unit().output?.summary).not.toContain('assertion failed');
    const sent = unit().history.length;
    // The step's last lines are stored after the job ended (log frames are paced, statuses are not).
    logged.push('assertion failed: expected 2, got 3');
    h.clock.advance(DEFAULT_DEBOUNCE_MS);
    await h.reporter.settled();
    expect(unit().history).toHaveLength(sent + 1);
    expect(unit().history.at(-1)!.body).not.toHaveProperty('conclusion');
    expect(unit()).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(unit().output?.summary).toContain('assertion failed: expected 2, got 3');
    // Nothing changed since: no further call.
    h.clock.advance(60_000);
    await h.reporter.settled();
    expect(unit().history).toHaveLength(sent + 1);
  });

  it('keeps a check\'s calls in order behind a slow create', async () => {
    let release!: () => void;
    const gate = { open: new Promise<void>((resolve) => (release = resolve)) };
    const h = harness({ api: apiOf(gate) });
    const model = new RunModel('run-slow', [
      { name: 'one', steps: ['a', 'b'] },
      { name: 'two', steps: ['c'] },
    ]);
    model.start(h.reporter, h.clock.now());
    // The creates are on their way to GitHub, and held there.
    await new Promise((resolve) => setImmediate(resolve));
    model.setJob(h.reporter, 'one', 'running', h.clock.now());
    model.setStep(h.reporter, 'one', 0, 'running', h.clock.now());
    model.setStep(h.reporter, 'one', 0, 'success', h.clock.now());
    model.setStep(h.reporter, 'one', 1, 'running', h.clock.now());
    model.setStep(h.reporter, 'one', 1, 'success', h.clock.now());
    model.setJob(h.reporter, 'one', 'success', h.clock.now());
    model.setJob(h.reporter, 'two', 'running', h.clock.now());
    await new Promise((resolve) => setImmediate(resolve));
    expect(checksOn(model.sha)).toEqual([]);
    release();
    await h.reporter.settled();

    // Each update waited for its create; the completion was the last word, progress never followed it.
    const one = check(model.sha, 'kici/build/job/one');
    expect(methods(one)).toEqual(['POST', 'PATCH']);
    expect(one.history[0]!.body).toMatchObject({ status: 'queued' });
    expect(one.history[1]!.body).toMatchObject({ conclusion: 'success' });
    const two = check(model.sha, 'kici/build/job/two');
    expect(methods(two)).toEqual(['POST', 'PATCH']);
    expect(two.history[1]!.body).toMatchObject({ status: 'in_progress' });
    const workflow = check(model.sha, 'kici/build');
    expect(methods(workflow)).toEqual(['POST', 'PATCH']);
    expect(workflow).toMatchObject({ status: 'in_progress' });
    // The debounce armed by the steps was dropped with the completion: nothing more later.
    h.clock.advance(60_000);
    await h.reporter.settled();
    expect(methods(one)).toEqual(['POST', 'PATCH']);
    expect(h.failed).toEqual([]);
  });

  it('retries a create that failed with a 5xx after 1 s, looking first, and sends the updates that waited behind it', async () => {
    const h = harness();
    const model = new RunModel('run-flaky-create', [{ name: 'only', steps: ['a'] }]);
    standin.failNext('server_error', { match: /^POST \/repos\/.*\/check-runs$/, times: 2 });
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();
    expect(checksOn(model.sha)).toEqual([]);
    expect(h.counts.get('create:error')).toBe(2);
    // The job starts while its check's create waits out its backoff: the update queues behind it.
    model.setJob(h.reporter, 'only', 'running', h.clock.now());
    await h.reporter.settled();
    expect(checksOn(model.sha)).toEqual([]);
    h.clock.advance(1_000);
    await h.reporter.settled();
    expect(checksOn(model.sha)).toHaveLength(2);
    expect(h.counts.get('find:ok')).toBe(2);
    const only = check(model.sha, 'kici/build/job/only');
    // The create as it was first meant, then the update that waited behind it.
    expect(methods(only)).toEqual(['POST', 'PATCH']);
    expect(only.history[0]!.body).toMatchObject({ status: 'queued' });
    expect(only.status).toBe('in_progress');
    expect(h.failed).toEqual([]);
  });

  it('retries a PATCH that failed with a 5xx after 1 s and then succeeds', async () => {
    const h = harness();
    const model = new RunModel('run-flaky-patch', [{ name: 'only', steps: ['a'] }]);
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();
    const only = check(model.sha, 'kici/build/job/only');
    standin.failNext('server_error', { match: new RegExp(`^PATCH /repos/.*/check-runs/${only.id}$`) });
    model.setJob(h.reporter, 'only', 'running', h.clock.now());
    await h.reporter.settled();
    expect(only.status).toBe('queued');
    expect(h.counts.get('update:error')).toBe(1);
    h.clock.advance(999);
    await h.reporter.settled();
    expect(only.status).toBe('queued');
    h.clock.advance(1);
    await h.reporter.settled();
    expect(only.status).toBe('in_progress');
    expect(h.counts.get('update:error')).toBe(1);
    expect(h.failed).toEqual([]);
  });

  it('gives a call up after 1 s, 4 s and 16 s of 5xx, and says so without a credential in the message', async () => {
    const h = harness();
    const model = new RunModel('run-down', [{ name: 'only', steps: ['a'] }]);
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();
    const only = check(model.sha, 'kici/build/job/only');
    standin.failNext('bad_gateway', { match: new RegExp(`^PATCH /repos/.*/check-runs/${only.id}$`), times: 4 });
    model.setJob(h.reporter, 'only', 'running', h.clock.now());
    for (const wait of [0, 1_000, 4_000, 16_000]) {
      h.clock.advance(wait);
      await h.reporter.settled();
    }
    expect(h.counts.get('update:error')).toBe(4);
    expect(h.failed).toHaveLength(1);
    expect(h.failed[0]!.what).toContain('kici/build/job/only');
    expect(h.failed[0]!.what).toContain('gave up after 4 tries');
    expect((h.failed[0]!.error as { status?: number }).status).toBe(502);
    // The check is still reported afterwards: the next state goes out.
    model.setJob(h.reporter, 'only', 'success', h.clock.now());
    await h.reporter.settled();
    expect(only).toMatchObject({ status: 'completed', conclusion: 'success' });
  });

  it('gives up at once on an error trying again cannot fix', async () => {
    const h = harness({ target: { sourceId: 'gh-1', owner: OWNER, repo: REPO, installationId: STRANGER_INSTALLATION } });
    const model = new RunModel('run-stranger', [{ name: 'only', steps: ['a'] }]);
    model.start(h.reporter, h.clock.now());
    await h.reporter.settled();
    expect(checksOn(model.sha)).toEqual([]);
    expect(h.failed).toHaveLength(2);
    expect(h.failed.every((f) => (f.error as { retryable?: boolean }).retryable === false)).toBe(true);
    expect(h.counts.get('create:error')).toBe(2);
  });

  it('on a node that never saw the run start, finds the checks another node created and reuses them', async () => {
    const first = harness();
    const model = new RunModel('run-moved', [
      { name: 'build', steps: ['compile'] },
      { name: 'test', steps: ['unit', 'e2e'] },
      { name: 'deploy', steps: ['push'] },
    ]);
    // A check of an earlier attempt with the same name on the same commit must be left alone.
    const earlier = await app.createCheckRun(OWNER, REPO, { name: 'kici/build/job/test', headSha: model.sha, externalId: 'run-before/job-x', status: 'queued' });
    model.start(first.reporter, first.clock.now());
    model.setJob(first.reporter, 'build', 'running', first.clock.now());
    model.setJob(first.reporter, 'build', 'success', first.clock.now());
    model.setJob(first.reporter, 'test', 'running', first.clock.now());
    await first.reporter.settled();
    const before = checksOn(model.sha).length;
    expect(before).toBe(5);
    const buildHistory = check(model.sha, 'kici/build/job/build').history.length;

    // The node died; the run's new owner carries on and reports through its own reporter.
    const second = harness();
    model.setStep(second.reporter, 'test', 0, 'running', second.clock.now());
    model.setStep(second.reporter, 'test', 0, 'success', second.clock.now());
    model.setStep(second.reporter, 'test', 1, 'running', second.clock.now());
    model.setStep(second.reporter, 'test', 1, 'success', second.clock.now());
    model.setJob(second.reporter, 'test', 'success', second.clock.now());
    model.setJob(second.reporter, 'deploy', 'running', second.clock.now());
    model.setJob(second.reporter, 'deploy', 'success', second.clock.now());
    model.complete(second.reporter, 'success');
    await second.reporter.settled();

    expect(checksOn(model.sha)).toHaveLength(before);
    expect(second.counts.get('create:ok')).toBeUndefined();
    expect(second.counts.get('find:ok')).toBe(4);
    for (const name of ['kici/build', 'kici/build/job/test', 'kici/build/job/deploy']) {
      const reused = checksOn(model.sha).filter((c) => c.name === name && c.external_id !== 'run-before/job-x');
      expect(reused).toHaveLength(1);
      expect(reused[0]).toMatchObject({ status: 'completed', conclusion: 'success' });
    }
    // Completed by the first node: found and left as it was.
    expect(check(model.sha, 'kici/build/job/build').history).toHaveLength(buildHistory);
    expect(standin.checkRuns.get(earlier.id)).toMatchObject({ status: 'queued', history: [expect.objectContaining({ method: 'POST' })] });
    expect(first.failed).toEqual([]);
    expect(second.failed).toEqual([]);
  });

  it('reports nothing for a run that did not come from GitHub, and asks where it reports only once', async () => {
    const h = harness({ target: null });
    const model = new RunModel('run-generic', [{ name: 'only', steps: ['a'] }], { sourceId: 'generic-1' });
    const requests = standin.requests.length;
    model.start(h.reporter, h.clock.now());
    model.setJob(h.reporter, 'only', 'running', h.clock.now());
    await h.reporter.settled();
    model.setStep(h.reporter, 'only', 0, 'running', h.clock.now());
    model.setStep(h.reporter, 'only', 0, 'failed', h.clock.now());
    model.setJob(h.reporter, 'only', 'failed', h.clock.now());
    model.complete(h.reporter, 'failed');
    h.clock.advance(60_000);
    await h.reporter.settled();
    expect(standin.requests.length).toBe(requests);
    expect(h.targetLookups).toEqual(['run-generic']);
    expect(h.logReads).toEqual([]);
    expect(h.counts.size).toBe(0);
  });

  it('forgets a finished run 5 minutes after it ended', async () => {
    const h = harness();
    const model = new RunModel('run-forget', [{ name: 'only', steps: ['a'] }]);
    model.start(h.reporter, h.clock.now());
    model.setJob(h.reporter, 'only', 'running', h.clock.now());
    model.setJob(h.reporter, 'only', 'success', h.clock.now());
    model.complete(h.reporter, 'success');
    await h.reporter.settled();
    expect(h.reporter.trackedRuns()).toBe(1);
    h.clock.advance(5 * 60_000 - 1);
    expect(h.reporter.trackedRuns()).toBe(1);
    h.clock.advance(1);
    expect(h.reporter.trackedRuns()).toBe(0);
    expect(check(model.sha, 'kici/build')).toMatchObject({ status: 'completed', conclusion: 'success' });
  });

  it('never puts a credential into a failure it reports', () => {
    expect(failures.length).toBeGreaterThan(0);
    expect(standin.issuedTokens.length).toBeGreaterThan(0);
    for (const { error, what } of failures) {
      const text = `${what} ${error instanceof Error ? `${error.message} ${error.stack ?? ''}` : String(error)}`;
      for (const token of standin.issuedTokens) expect(text).not.toContain(token);
      expect(text).not.toMatch(/ghs_|eyJ[A-Za-z0-9_-]+\.|PRIVATE KEY/);
    }
  });
});
