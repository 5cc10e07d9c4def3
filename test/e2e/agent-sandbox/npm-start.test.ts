import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevProcess, ensureBuilt, freePort, GitRepo, kiciAdminJson, waitUntil, type LogLine, type RunDetail } from '../harness/index.js';

/**
 * `npm start` as a user gets it: kici-dev starts an orchestrator with its data directory and a
 * local agent. The agent gets its token by file, not by environment or argv, and its steps see
 * neither that file nor the orchestrator's admin token, secret key or database.
 */
let dir: string;
let dataDir: string;
let dev: DevProcess;
let url: string;
let adminToken: string;

async function api<T>(route: string): Promise<T> {
  const res = await fetch(`${url}/api/v1${route}`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** The pid of kici-dev's agent child, found on the host (steps cannot see it). */
function agentPid(): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === dev.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kici-agent.js')) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

beforeAll(async () => {
  ensureBuilt();
  // Under /var/tmp: a sandboxed step's /tmp is its own, which would hide a data dir under /tmp anyway.
  dir = realpathSync(mkdtempSync('/var/tmp/kici-npm-start-'));
  dataDir = path.join(dir, '.kici-data');
  dev = new DevProcess({ KICI_DATA_DIR: dataDir, KICI_PORT: String(await freePort()) }, path.join(dir, 'kici-dev.log'));
  url = await dev.connected();
  adminToken = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
});

afterAll(async () => {
  await dev?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts the local agent sandboxed, with its token in a file, not in its environment or command line', () => {
    const token = readFileSync(path.join(dataDir, 'dev-agent-token'), 'utf8').trim();
    expect(token).toMatch(/^kat_/);
    const pid = agentPid();
    expect(pid, dev.tail()).toBeDefined();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(token);
    expect(dev.output()).toContain('steps run in a bubblewrap sandbox');
    expect(dev.output()).not.toContain(token);
  });

  it('runs steps that cannot read the data directory: no admin token, secret key, agent token or database', async () => {
    const secretFile = path.join(dir, 'hook-secret');
    writeFileSync(secretFile, 'npm-start-hook-secret', { mode: 0o600 });
    const repo = new GitRepo(path.join(dir, 'repo'));
    const source = await kiciAdminJson<{ id: string }>(url, adminToken, [
      'source', 'add', 'git', '--org', 'dev', '--name', 'app', '--url', repo.originUrl, '--secret', `@${secretFile}`,
    ]);
    await kiciAdminJson(url, adminToken, ['source', 'install-hook', source.id, '--repo', repo.origin, '--secret', `@${secretFile}`]);
    const run = [
      'set +e',
      'for f in admin-token secret.key dev-agent-token orchestrator-url; do',
      '  if c=$(cat "$DATA_DIR/$f" 2>/dev/null); then echo "readable: $f: $c"; else echo "unreadable: $f"; fi',
      'done',
      'echo "listing: $(ls -A "$DATA_DIR" | tr "\\n" " ")"',
      'echo "step-done"',
    ].join('\n');
    const sha = repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        {
          name: 'peek',
          triggers: [{ _type: 'push', branches: ['main'] }],
          jobs: [{ name: 'peek', runsOn: ['local'], env: { DATA_DIR: dataDir }, steps: [{ name: 'peek', run }] }],
        },
      ],
    });
    repo.push('main');
    const deliveryId = `${source.id}:refs/heads/main:${sha}`;
    const { id } = await waitUntil('the run of the push', async () => (await api<{ runs: { id: string; deliveryId: string }[] }>('/runs')).runs.find((r) => r.deliveryId === deliveryId), {
      describe: () => dev.tail(10),
    });
    const done = await waitUntil('the run to finish', async () => {
      const r = await api<RunDetail>(`/runs/${id}`);
      return ['success', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    }, { timeoutMs: 60_000, describe: () => dev.tail(10) });
    expect(done.status, JSON.stringify(done.jobs)).toBe('success');
    const text = await waitUntil('the step log', async () => {
      const res = await fetch(`${url}/api/v1/runs/${id}/logs`, { headers: { authorization: `Bearer ${adminToken}` } });
      const lines = (await res.text()).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LogLine).text);
      return lines.includes('step-done') ? lines.join('\n') : undefined;
    });

    for (const f of ['admin-token', 'secret.key', 'dev-agent-token', 'orchestrator-url']) expect(text).toContain(`unreadable: ${f}`);
    // Nothing of the data directory shows but the way down to the step's own checkout (the agent's
    // work dir is in it): the database and blobs are hidden too.
    expect(text).toMatch(/^listing: agent $/m);
    for (const f of ['admin-token', 'secret.key', 'dev-agent-token']) {
      expect(text).not.toContain(readFileSync(path.join(dataDir, f), 'utf8').trim());
    }
  });
});
