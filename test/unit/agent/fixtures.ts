import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobDispatchMessage, type JobDispatch } from '../../../src/transport/agent-protocol/index.js';

/** A valid dispatch with defaults filled, overridable per test. */
export function makeDispatch(overrides: Record<string, unknown> = {}): JobDispatch {
  return jobDispatchMessage.parse({
    type: 'job.dispatch',
    messageId: 'm-1',
    timestamp: 1,
    runId: 'run-1',
    jobId: 'job-1',
    jobName: 'build',
    workflow: 'ci',
    repoUrl: 'file:///nowhere',
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    repo: 'local/repo',
    branch: 'main',
    event: 'push',
    attempt: 1,
    epoch: 1,
    jobConfig: { name: 'build', steps: [{ run: 'true' }], checkout: false },
    ...overrides,
  });
}

export interface TempDirs {
  root: string;
  checkout: string;
  meta: string;
  cleanup(): void;
}

export function makeTempDirs(): TempDirs {
  const root = mkdtempSync(join(tmpdir(), 'kici-agent-test-'));
  const checkout = join(root, 'checkout');
  const meta = join(root, 'meta');
  mkdirSync(checkout);
  mkdirSync(meta);
  return { root, checkout, meta, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `check` is true; fails the test after `ms`. */
export async function waitFor(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
