#!/usr/bin/env node
/**
 * `npm run demo`: a self-contained tour. It starts its own orchestrator and agent on a free port
 * with a temporary data directory, makes a git repository whose lock file has two jobs joined by
 * `needs`, a 2×2 matrix and a step output used downstream, registers it as a git source, installs
 * the post-receive hook, pushes, follows the logs live, and prints the run's status and timings.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN_FILE, AdminApi, ORCHESTRATOR_URL_FILE, installSourceHook, logLinePrefix } from '../admin/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'demo',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [
        {
          name: 'build',
          steps: [
            { name: 'compile', run: 'echo "compiling $KICI_REPO at $KICI_SHA"; echo version=1.0.$RANDOM >> "$KICI_OUTPUT"' },
          ],
        },
        {
          name: 'test',
          needs: ['build'],
          matrix: { node: ['20', '22'], shard: ['1', '2'] },
          steps: [{ name: 'check', run: 'echo "node $KICI_MATRIX_NODE, shard $KICI_MATRIX_SHARD, testing build $KICI_NEEDS_BUILD_VERSION"' }],
        },
      ],
    },
  ],
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'kici demo', GIT_AUTHOR_EMAIL: 'demo@kici.invalid', GIT_COMMITTER_NAME: 'kici demo', GIT_COMMITTER_EMAIL: 'demo@kici.invalid' },
  });
}

function start(bin: string, args: string[], env: NodeJS.ProcessEnv, quiet: boolean): ChildProcess {
  const child = spawn(process.execPath, [path.join(here, bin), ...args], { env, stdio: ['ignore', 'ignore', quiet ? 'ignore' : 'inherit'] });
  children.push(child);
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<number> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'kici-demo-'));
  const dataDir = path.join(tmp, 'data');
  mkdirSync(dataDir);
  const quiet = !process.env.KICI_DEMO_VERBOSE;
  try {
    const t0 = Date.now();
    step('starting an orchestrator (PGlite, filesystem blobs) on a free port');
    start('kici-orchestrator.js', [], { PATH: process.env.PATH, HOME: process.env.HOME, KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'warn' }, quiet);
    const url = await until('the orchestrator', async () => {
      const file = path.join(dataDir, ORCHESTRATOR_URL_FILE);
      if (!existsSync(file)) return undefined;
      const u = readFileSync(file, 'utf8').trim();
      return (await fetch(`${u}/ready`)).ok ? u : undefined;
    });
    const api = new AdminApi(url, readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());

    step('creating an agent token and starting one agent');
    const { token } = await api.call<{ token: string }>('POST', '/agent-tokens', { name: 'demo-agent' });
    // From a file in a directory of its own, which the agent hides from steps with the data dir.
    const tokenFile = path.join(tmp, 'agent-token', 'token');
    mkdirSync(path.dirname(tokenFile), { mode: 0o700 });
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const agentArgs = ['--url', `${url.replace(/^http/, 'ws')}/ws`, '--token-file', tokenFile, '--hide', dataDir, '--work-dir', path.join(tmp, 'agent'), '--max-concurrency', '4'];
    start('kici-agent.js', agentArgs, { PATH: process.env.PATH, HOME: process.env.HOME, KICI_LOG_LEVEL: 'warn' }, quiet);

    step('making a git repository with .kici/kici.lock.json (build → 2×2 test matrix)');
    const origin = path.join(tmp, 'origin.git');
    const work = path.join(tmp, 'work');
    git(tmp, 'init', '-q', '--bare', '-b', 'main', origin);
    git(tmp, 'init', '-q', '-b', 'main', work);
    mkdirSync(path.join(work, '.kici'));
    writeFileSync(path.join(work, '.kici', 'kici.lock.json'), `${JSON.stringify(LOCKFILE, null, 2)}\n`);
    writeFileSync(path.join(work, 'README.md'), '# demo\n');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'add a kici workflow');
    git(work, 'remote', 'add', 'origin', origin);

    step('registering it as a git source and installing the post-receive hook');
    const secret = randomBytes(24).toString('hex');
    const source = await api.call<{ id: string }>('POST', '/sources', { kind: 'git', orgId: 'demo', name: 'demo-repo', url: `file://${origin}`, secret });
    await installSourceHook(api, source.id, origin, secret);

    step('pushing main');
    const pushedAt = Date.now();
    git(work, 'push', '-q', 'origin', 'main');
    const run = await until('the run', async () => (await api.call<{ runs: { id: string }[] }>('GET', '/runs?limit=1')).runs[0]);
    step(`run ${run.id} started; following its logs\n`);
    await followLogs(api, run.id);

    const done = await api.call<RunDetail>('GET', `/runs/${run.id}`);
    process.stdout.write(`\nrun ${done.id}: ${done.status}\n`);
    process.stdout.write(`  push → run finished: ${ms(done.finishedAt ? Date.parse(done.finishedAt) - pushedAt : null)}   (demo total ${ms(Date.now() - t0)})\n`);
    for (const j of done.jobs) {
      const took = j.startedAt && j.finishedAt ? Date.parse(j.finishedAt) - Date.parse(j.startedAt) : null;
      process.stdout.write(`  ${j.status.padEnd(8)} ${j.name.padEnd(16)} ${ms(took)}${Object.keys(j.outputs).length ? `  outputs ${JSON.stringify(j.outputs)}` : ''}\n`);
    }
    return done.status === 'success' ? 0 : 1;
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface RunDetail {
  id: string;
  status: string;
  finishedAt: string | null;
  jobs: { name: string; status: string; startedAt: string | null; finishedAt: string | null; outputs: Record<string, string> }[];
}

async function followLogs(api: AdminApi, runId: string): Promise<void> {
  const res = await api.raw('GET', `/runs/${runId}/logs?follow=true`);
  if (!res.body) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, nl)) as { job: string; step: number; stepName?: string; text: string };
      pending = pending.slice(nl + 1);
      process.stdout.write(`  ${logLinePrefix(line)} ${line.text}\n`);
    }
  }
}

function step(text: string): void {
  process.stdout.write(`• ${text}\n`);
}

function ms(n: number | null): string {
  return n === null ? '-' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`;
}

async function stopAll(): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const force = setTimeout(() => c.kill('SIGKILL'), 10_000);
          c.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
        }),
    ),
  );
}

main().then(
  (code) => process.exit(code),
  async (e: Error) => {
    process.stderr.write(`kici demo: ${e.message}\n`);
    await stopAll();
    process.exit(1);
  },
);
