import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { JobRunner } from '../../../src/agent/job-runner.js';
import type { AgentMessage, AgentMessageOf } from '../../../src/transport/agent-protocol/index.js';
import { makeDispatch, waitFor } from './fixtures.js';

let repo: string;
let firstSha: string;
let secondSha: string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' }).trim();
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'kici-agent-repo-'));
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'hello.txt'), 'first\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  firstSha = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'hello.txt'), 'second\n');
  git(repo, 'commit', '-q', '-am', 'two');
  secondSha = git(repo, 'rev-parse', 'HEAD');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

let workDir: string;
let sent: AgentMessage[];
let runner: JobRunner;

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'kici-agent-work-'));
  sent = [];
  runner = new JobRunner({ workDir, maxConcurrency: 1, port: { send: (m) => sent.push(m) }, heartbeatIntervalMs: 60_000 });
});
afterEach(async () => {
  runner.cancelAll('test over', true);
  await runner.idle();
  rmSync(workDir, { recursive: true, force: true });
});

const of = <T extends AgentMessage['type']>(type: T): AgentMessageOf<T>[] =>
  sent.filter((m): m is AgentMessageOf<T> => m.type === type);
const finalStatus = (): AgentMessageOf<'job.status'> | undefined => of('job.status').find((s) => s.state !== 'running');

describe('job runner with a real git repository', () => {
  it('clones at the sha, runs the steps in the checkout, reports outputs and removes the work dir', async () => {
    const dispatch = makeDispatch({
      repoUrl: `file://${repo}`,
      sha: firstSha,
      jobConfig: {
        name: 'build',
        steps: [
          { name: 'read', run: 'echo "content=$(cat hello.txt)" >> "$KICI_OUTPUT"; git rev-parse HEAD' },
          { run: 'echo "where=$(pwd)" >> "$KICI_OUTPUT"; echo "content=override" >> "$KICI_OUTPUT"' },
        ],
      },
    });
    expect(runner.dispatch(dispatch)).toBe('accepted');
    expect(sent[0]).toMatchObject({ type: 'job.ack', jobId: 'job-1', runId: 'run-1' });
    await runner.idle();

    expect(of('job.status').map((s) => s.state)).toEqual(['running', 'success']);
    const final = finalStatus();
    expect(final?.data?.outputs.content).toBe('override');
    expect(final?.data?.outputs.where).toMatch(/\/jobs\/job-1-[^/]+\/checkout$/);
    expect(final?.data?.stepResults.map((r) => [r.name, r.state, r.outputs?.content])).toEqual([
      ['read', 'success', 'first'],
      ['step-2', 'success', 'override'],
    ]);
    expect(of('step.status').map((s) => `${s.stepIndex}:${s.state}`)).toEqual(['0:running', '0:success', '1:running', '1:success']);
    expect(of('log.chunk').flatMap((c) => c.lines)).toContain(firstSha);
    expect(readdirSync(join(workDir, 'jobs'))).toEqual([]);
    expect(runner.busySlots).toBe(0);
    expect(secondSha).not.toBe(firstSha);
  });

  it('fails the job with checkout_failed and skips the steps when the commit does not exist', async () => {
    runner.dispatch(makeDispatch({ repoUrl: `file://${repo}`, sha: 'f'.repeat(40), jobConfig: { name: 'b', steps: [{ run: 'true' }] } }));
    await runner.idle();
    expect(finalStatus()).toMatchObject({ state: 'failed' });
    expect(finalStatus()?.error).toMatch(/^checkout_failed: /);
    expect(of('step.status').map((s) => s.state)).toEqual(['skipped']);
    expect(of('log.chunk')[0]?.lines[0]).toMatch(/^\[kici\] checkout_failed: /);
  });

  it('never puts http credentials in an error', async () => {
    runner.dispatch(
      makeDispatch({
        repoUrl: 'http://127.0.0.1:9/repo.git',
        gitAuth: { username: 'bot', password: 'hunter2-secret' },
        jobConfig: { name: 'b', steps: [{ run: 'true' }] },
      }),
    );
    await runner.idle();
    const text = JSON.stringify(sent);
    expect(finalStatus()?.state).toBe('failed');
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain(Buffer.from('bot:hunter2-secret').toString('base64'));
  });

  it('hides credentials written into the clone URL itself', async () => {
    runner.dispatch(makeDispatch({ repoUrl: 'http://bot:url-secret-77@127.0.0.1:9/repo.git', jobConfig: { name: 'b', steps: [{ run: 'true' }] } }));
    await runner.idle();
    expect(finalStatus()?.error).toMatch(/^checkout_failed: /);
    expect(JSON.stringify(sent)).not.toContain('url-secret-77');
  });
});

describe('job runner decisions and outcomes', () => {
  const steps = (...runs: (string | { run: string; continueOnError?: boolean })[]) => ({
    name: 'j',
    checkout: false,
    steps: runs.map((r) => (typeof r === 'string' ? { run: r } : r)),
  });

  it('rejects busy, stale epochs and duplicates without starting twice', async () => {
    expect(runner.dispatch(makeDispatch({ epoch: 5, jobConfig: steps('sleep 0.3') }))).toBe('accepted');
    expect(runner.dispatch(makeDispatch({ epoch: 5, jobConfig: steps('true') }))).toBe('duplicate');
    expect(runner.dispatch(makeDispatch({ jobId: 'job-2', epoch: 5 }))).toBe('busy');
    expect(runner.dispatch(makeDispatch({ jobId: 'job-3', epoch: 4 }))).toBe('stale_epoch');
    expect(runner.inFlight()).toEqual([{ jobId: 'job-1', runId: 'run-1' }]);
    await runner.idle();
    expect(of('job.reject').map((r) => r.reason)).toEqual(['busy', 'stale_epoch']);
    expect(of('job.ack')).toHaveLength(2);
    expect(of('job.status').filter((s) => s.state === 'running')).toHaveLength(1);
    runner.drain();
    expect(runner.dispatch(makeDispatch({ jobId: 'job-4', epoch: 6 }))).toBe('draining');
  });

  it('skips the steps after a failure and runs on past continueOnError, ending failed', async () => {
    runner.dispatch(makeDispatch({ jobConfig: steps({ run: 'exit 3', continueOnError: true }, 'echo "a=1" >> "$KICI_OUTPUT"', 'exit 4', 'true') }));
    await runner.idle();
    expect(finalStatus()).toMatchObject({ state: 'failed', error: 'step_failed: step-1' });
    expect(finalStatus()?.data?.stepResults.map((r) => [r.state, r.exitCode ?? null])).toEqual([
      ['failed', 3],
      ['success', 0],
      ['failed', 4],
      ['skipped', null],
    ]);
    expect(finalStatus()?.data?.outputs).toEqual({ a: '1' });
  });

  it('cancels a running job: the step is cancelled, the rest skipped, the job cancelled', async () => {
    runner.dispatch(makeDispatch({ epoch: 2, jobConfig: steps('echo started; sleep 30', 'true') }));
    await waitFor(() => of('step.status').some((s) => s.state === 'running'), 5000, 'step to run');
    expect(runner.cancel({ type: 'job.cancel', runId: 'run-1', jobId: 'job-1', reason: 'stale', epoch: 1, force: true })).toBe(false);
    expect(runner.cancel({ type: 'job.cancel', runId: 'run-1', jobId: 'job-1', reason: 'user', epoch: 2, force: true })).toBe(true);
    await runner.idle();
    expect(finalStatus()).toMatchObject({ state: 'cancelled', error: 'cancelled: user' });
    expect(of('step.status').map((s) => s.state)).toEqual(['running', 'cancelled', 'skipped']);
  });

  it('fails a job past its timeout with job_timeout', async () => {
    runner.dispatch(makeDispatch({ jobConfig: { ...steps('sleep 30'), timeout: 200 } }));
    await runner.idle();
    expect(finalStatus()).toMatchObject({ state: 'failed', error: 'job_timeout' });
  });

  it('sends job.heartbeat while the job runs', async () => {
    const beats: AgentMessage[] = [];
    const fast = new JobRunner({ workDir, maxConcurrency: 1, port: { send: (m) => beats.push(m) }, heartbeatIntervalMs: 40 });
    fast.dispatch(makeDispatch({ jobConfig: steps('sleep 0.3') }));
    await fast.idle();
    const count = beats.filter((m) => m.type === 'job.heartbeat').length;
    expect(count).toBeGreaterThanOrEqual(2);
    const last = beats.at(-1);
    expect(last?.type).toBe('job.status');
    expect(existsSync(join(workDir, 'jobs'))).toBe(true);
  });
});
