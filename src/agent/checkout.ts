import { mkdirSync } from 'node:fs';
import type { Clock } from '../clock/index.js';
import type { JobControl } from './job-control.js';
import { runProcess } from './process-run.js';
import type { GitAuth } from '../transport/index.js';
import { HOST_ALLOWLIST } from './step-environment.js';

export interface CheckoutRequest {
  repoUrl: string;
  sha: string;
  dir: string;
  gitAuth?: GitAuth;
  hostEnv: NodeJS.ProcessEnv;
  control: JobControl;
  clock: Clock;
}

/** Each git command gets this long; the job timeout still bounds the whole job. */
const GIT_COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

export class CheckoutError extends Error {}

/**
 * Put the repository at exactly `sha` into `dir`: init, a shallow fetch of that commit (a full
 * fetch when the server refuses to serve a bare sha), a detached checkout, and a check that HEAD is
 * the commit asked for. Credentials travel as an HTTP header in git's environment, never in the
 * URL or on the command line, and are scrubbed from any error text.
 */
export async function checkoutCommit(req: CheckoutRequest): Promise<void> {
  mkdirSync(req.dir, { recursive: true });
  const git = gitRunner(req);
  await git(['init', '-q', req.dir]);
  const shallow = await git(['-C', req.dir, 'fetch', '-q', '--no-tags', '--depth', '1', req.repoUrl, req.sha], false);
  if (!shallow.ok) {
    if (req.control.stopped) throw new CheckoutError('checkout stopped');
    await git(['-C', req.dir, 'fetch', '-q', '--no-tags', req.repoUrl, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
  }
  await git(['-C', req.dir, '-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', req.sha]);
  const head = (await git(['-C', req.dir, 'rev-parse', 'HEAD'])).stdout.trim();
  if (!head.toLowerCase().startsWith(req.sha.toLowerCase())) {
    throw new CheckoutError(`checkout ended at ${head}, not at ${req.sha}`);
  }
}

interface GitResult {
  ok: boolean;
  stdout: string;
}

function gitRunner(req: CheckoutRequest): (args: string[], mustSucceed?: boolean) => Promise<GitResult> {
  const env = gitEnv(req);
  const secrets = secretTexts(req.gitAuth);
  return async (args, mustSucceed = true) => {
    let stdout = '';
    let stderr = '';
    const result = await runProcess({
      argv: ['git', ...args],
      cwd: req.dir,
      env,
      timeoutMs: GIT_COMMAND_TIMEOUT_MS,
      clock: req.clock,
      control: req.control,
      onOutput: (stream, data) => {
        if (stream === 'stdout') stdout += data.toString('utf8');
        else if (stderr.length < 8000) stderr += data.toString('utf8');
      },
    });
    const ok = result.exitCode === 0 && !result.stoppedBy;
    if (!ok && mustSucceed) {
      const why = result.stoppedBy ? 'stopped' : result.spawnError ?? (stderr.trim() || `exit code ${result.exitCode}`);
      throw new CheckoutError(scrub(`git ${args.find((a) => !a.startsWith('-') && a !== req.dir) ?? ''} failed: ${why}`, secrets));
    }
    return { ok, stdout };
  };
}

function gitEnv(req: CheckoutRequest): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  for (const name of HOST_ALLOWLIST) {
    const value = req.hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  if (req.gitAuth && /^https?:\/\//i.test(req.repoUrl)) {
    // GIT_CONFIG_* is `-c http.extraHeader=…` without putting the header in the process list.
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic(req.gitAuth)}`;
  }
  return env;
}

function basic(auth: GitAuth): string {
  return Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
}

function secretTexts(auth: GitAuth | undefined): string[] {
  return auth ? [auth.password, basic(auth)] : [];
}

function scrub(text: string, secrets: string[]): string {
  // Credentials someone put into a URL's user part are hidden too.
  const withoutUserInfo = text.replace(/\/\/[^/@\s]+@/g, '//***@');
  return secrets.reduce((out, secret) => out.split(secret).join('***'), withoutUserInfo);
}
