import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, ORCHESTRATOR_URL_FILE } from '../../../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import { kiciAdmin } from './admin-cli-run.js';

const SECRETS = {
  value: 'git-secret-by-value-0001',
  file: 'git-secret-from-file-0002',
  env: 'git-secret-from-env-0003',
  stdin: 'git-secret-from-stdin-0004',
  generic: 'generic-hmac-secret-0005',
  cloneToken: 'clone-token-0006',
};

let tmp: string;
let dataDir: string;
let orch: Orchestrator;
const created: Record<string, string> = {};

/** kici-admin pointed at the test orchestrator through its data directory, as on the same machine. */
const admin = (args: string[], options?: { stdin?: string }) => kiciAdmin(['--data-dir', dataDir, ...args], options);

async function addGit(name: string, secretArgs: string[], options?: { stdin?: string }): Promise<Record<string, unknown>> {
  const r = await admin(['--json', 'source', 'add', 'git', '--org', 'acme', '--name', name, '--url', 'file:///srv/git/app.git', ...secretArgs], options);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
}

function bareRepo(name: string): string {
  const repo = path.join(tmp, name);
  execFileSync('git', ['init', '--bare', '--quiet', repo]);
  return repo;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-admin-'));
  dataDir = path.join(tmp, 'data');
  orch = await startOrchestrator(loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' }));
});

afterAll(async () => {
  await orch?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the files a local orchestrator leaves for kici-admin', () => {
  it('writes the admin token readable by its owner only, and its URL', () => {
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, 'utf8').trim().length).toBeGreaterThanOrEqual(16);
    expect(readFileSync(path.join(dataDir, ORCHESTRATOR_URL_FILE), 'utf8').trim()).toBe(orch.url);
  });

  it('lets kici-admin --data-dir find the orchestrator without --url or --token', async () => {
    const r = await admin(['source', 'list']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\(none\)|ID/);
  });
});

describe('kici-admin source', () => {
  it('adds a git source with the secret given as a value', async () => {
    const s = await addGit('by-value', ['--secret', SECRETS.value]);
    expect(s).toMatchObject({ kind: 'git', orgId: 'acme', name: 'by-value', hasSecret: true, hasToken: false });
    expect(s.webhookPath).toBe(`/webhook/acme/git/${s.id}`);
    created.value = s.id as string;
  });

  it('adds a git source with the secret read from @file, and a clone token', async () => {
    const file = path.join(tmp, 'secret.txt');
    writeFileSync(file, `${SECRETS.file}\n`);
    const s = await addGit('from-file', ['--secret', `@${file}`, '--token', SECRETS.cloneToken]);
    expect(s).toMatchObject({ hasSecret: true, hasToken: true });
    created.file = s.id as string;
  });

  it('adds a git source with the secret read from an environment variable', async () => {
    process.env.KICI_TEST_HOOK_SECRET_VAR = SECRETS.env;
    try {
      const s = await addGit('from-env', ['--from-env', 'KICI_TEST_HOOK_SECRET_VAR']);
      expect(s.hasSecret).toBe(true);
      created.env = s.id as string;
    } finally {
      delete process.env.KICI_TEST_HOOK_SECRET_VAR;
    }
  });

  it('adds a git source with the secret piped on standard input', async () => {
    const s = await addGit('from-stdin', ['--stdin'], { stdin: `${SECRETS.stdin}\n` });
    expect(s.hasSecret).toBe(true);
    created.stdin = s.id as string;
  });

  it('tells the global --url/--token apart from the git source\'s own --url/--token', async () => {
    const adminToken = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    const r = await kiciAdmin([
      '--url', orch.url, '--token', adminToken, '--json',
      'source', 'add', 'git', '--org', 'acme', '--name', 'explicit', '--url', 'https://git.example/app.git', '--token', SECRETS.cloneToken, '--secret', SECRETS.value,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Record<string, unknown>;
    expect(s).toMatchObject({ url: 'https://git.example/app.git', hasToken: true });
    created.explicit = s.id as string;
  });

  it('adds a generic source', async () => {
    const r = await admin(['--json', 'source', 'add', 'generic', '--org', 'acme', '--name', 'hooks', '--secret', SECRETS.generic, '--rate-limit', '60', '--allowed-events', 'push, deploy']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Record<string, unknown>;
    expect(s).toMatchObject({ kind: 'generic', verification: 'hmac_sha256', hasSecret: true, rateLimit: 60, allowedEvents: ['push', 'deploy'] });
    created.generic = s.id as string;
  });

  it('refuses a second source with the same name in the organisation', async () => {
    const r = await admin(['source', 'add', 'git', '--org', 'acme', '--name', 'by-value', '--url', 'file:///x', '--secret', 'another-secret']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('409');
    expect(r.err).not.toContain('another-secret');
  });

  it('lists and shows sources without any secret in them', async () => {
    const list = await admin(['--json', 'source', 'list']);
    expect(list.code).toBe(0);
    const sources = JSON.parse(list.out) as Record<string, unknown>[];
    expect(sources.map((s) => s.id).sort()).toEqual(Object.values(created).sort());

    const after = await admin(['source', 'list', '--json']);
    expect(JSON.parse(after.out)).toEqual(sources);
    const table = await admin(['source', 'list', '--org', 'acme']);
    const shown = await Promise.all(Object.values(created).map((id) => admin(['source', 'get', id])));
    const shownJson = await admin(['--json', 'source', 'get', created.file]);
    expect(shown.every((r) => r.code === 0)).toBe(true);
    expect(JSON.parse(shownJson.out)).toMatchObject({ id: created.file, hasSecret: true, hasToken: true });
    const everything = [list, after, table, shownJson, ...shown].map((r) => r.out + r.err).join('\n');
    for (const secret of Object.values(SECRETS)) expect(everything).not.toContain(secret);
    expect(everything).toContain('from-stdin');
  });

  it('says so when a source does not exist', async () => {
    const r = await admin(['source', 'get', 'src_nope']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('404');
  });

  it('installs an executable post-receive hook when given the right secret', async () => {
    const repo = bareRepo('good.git');
    const r = await admin(['source', 'install-hook', created.stdin, '--repo', repo, '--stdin'], { stdin: `${SECRETS.stdin}\n` });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const hook = path.join(repo, 'hooks', 'post-receive');
    expect(r.out).toContain(hook);
    expect(r.out).not.toContain(SECRETS.stdin);
    expect(statSync(hook).mode & 0o100).toBe(0o100);
    expect(statSync(hook).mode & 0o077).toBe(0);
    const script = readFileSync(hook, 'utf8');
    expect(script).toContain(`/webhook/acme/git/${created.stdin}`);
    expect(script).toContain(orch.url);
  });

  it('refuses to install a hook with the wrong secret, and writes nothing', async () => {
    const repo = bareRepo('bad.git');
    const r = await admin(['source', 'install-hook', created.value, '--repo', repo, '--secret', 'not-the-secret-at-all']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('not the one');
    expect(r.err).not.toContain('not-the-secret-at-all');
    expect(existsSync(path.join(repo, 'hooks', 'post-receive'))).toBe(false);
  });
});

describe('kici-admin agent token', () => {
  let token: { id: string; token: string; prefix: string };

  it('shows a new token once and lists only its prefix', async () => {
    const r = await admin(['agent', 'token', 'create', '--name', 'ci-box', '--labels', 'linux,docker']);
    expect(r.code).toBe(0);
    const plain = /token \(shown once\): (\S+)/.exec(r.out)?.[1];
    const id = /^id\s+(\S+)/m.exec(r.out)?.[1];
    const prefix = /^prefix\s+(\S+)/m.exec(r.out)?.[1];
    expect(plain && id && prefix).toBeTruthy();
    expect(plain!.startsWith(prefix!)).toBe(true);
    expect(plain!.length).toBeGreaterThan(prefix!.length);
    token = { id: id!, token: plain!, prefix: prefix! };

    const list = await admin(['agent', 'token', 'list']);
    const listJson = await admin(['--json', 'agent', 'token', 'list']);
    expect(list.out).toContain(token.prefix);
    expect(list.out).toContain('ci-box');
    expect(list.out + listJson.out).not.toContain(token.token);
    const rows = JSON.parse(listJson.out) as Record<string, unknown>[];
    expect(rows.find((t) => t.id === token.id)).toMatchObject({ prefix: token.prefix, labels: ['linux', 'docker'], revokedAt: null });
    expect(rows.every((t) => !('token' in t))).toBe(true);
  });

  it('revoking a token closes a live agent connected with it (4010)', async () => {
    const agent = await connectAgent();
    agent.send({ type: 'auth.request', token: token.token, protocolVersion: 1 });
    await agent.next('auth.success');
    agent.send(registration('agent-it-1', ['linux', 'os:linux']));
    expect(await agent.next('register.ack')).toMatchObject({ agentId: 'agent-it-1' });

    const r = await admin(['agent', 'token', 'revoke', token.id]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 agent(s) disconnected');
    expect(await agent.closed).toBe(4010);
    expect(agent.frames.some((f) => f.type === 'auth.failure')).toBe(true);

    const listJson = await admin(['--json', 'agent', 'token', 'list']);
    const row = (JSON.parse(listJson.out) as Record<string, unknown>[]).find((t) => t.id === token.id);
    expect(row?.revokedAt).not.toBeNull();
  });

  it('refuses a revoked token on a new connection (4010)', async () => {
    const agent = await connectAgent();
    agent.send({ type: 'auth.request', token: token.token, protocolVersion: 1 });
    expect(await agent.closed).toBe(4010);
  });

  it("holds an agent to its token's labels (4010 for a label it does not grant)", async () => {
    const created = await admin(['--json', 'agent', 'token', 'create', '--name', 'linux-only', '--labels', 'linux']);
    const limited = JSON.parse(created.out) as { token: string };
    const agent = await connectAgent();
    agent.send({ type: 'auth.request', token: limited.token, protocolVersion: 1 });
    await agent.next('auth.success');
    agent.send(registration('agent-it-2', ['linux', 'gpu']));
    expect(await agent.closed).toBe(4010);
    expect(agent.frames.find((f) => f.type === 'auth.failure')?.reason).toContain('gpu');
  });

  it('caps the slots an agent may declare with --max-concurrency, and lists the cap (the default named)', async () => {
    const created = await admin(['--json', 'agent', 'token', 'create', '--name', 'big-box', '--max-concurrency', '200']);
    expect(created.code).toBe(0);
    const big = JSON.parse(created.out) as { id: string; token: string; maxConcurrency: number };
    expect(big.maxConcurrency).toBe(200);

    const rows = JSON.parse((await admin(['--json', 'agent', 'token', 'list'])).out) as Record<string, unknown>[];
    expect(rows.find((t) => t.id === big.id)?.maxConcurrency).toBe(200);
    expect(rows.find((t) => t.name === 'ci-box')?.maxConcurrency).toBeNull();
    const table = (await admin(['agent', 'token', 'list'])).out;
    expect(table).toContain('MAXCONCURRENCY');
    expect(table).toMatch(/big-box .* 200 /);
    expect(table).toMatch(/ci-box .* 64 \(default\)/);

    const fits = await connectAgent();
    fits.send({ type: 'auth.request', token: big.token, protocolVersion: 1 });
    await fits.next('auth.success');
    fits.send({ ...registration('agent-it-slots-1', ['linux']), maxConcurrency: 200 });
    expect(await fits.next('register.ack')).toMatchObject({ agentId: 'agent-it-slots-1' });

    const over = await connectAgent();
    over.send({ type: 'auth.request', token: big.token, protocolVersion: 1 });
    await over.next('auth.success');
    over.send({ ...registration('agent-it-slots-2', ['linux']), maxConcurrency: 201 });
    expect(await over.closed).toBe(4010);
    expect(over.frames.find((f) => f.type === 'auth.failure')?.reason).toContain('its cap: 200 slots');
    expect(over.frames.some((f) => f.type === 'register.ack')).toBe(false);
    fits.close();
  });

  it('holds a token made without --max-concurrency to the default cap of 64', async () => {
    const created = JSON.parse((await admin(['--json', 'agent', 'token', 'create', '--name', 'default-cap'])).out) as { token: string; maxConcurrency: null };
    expect(created.maxConcurrency).toBeNull();
    const agent = await connectAgent();
    agent.send({ type: 'auth.request', token: created.token, protocolVersion: 1 });
    await agent.next('auth.success');
    agent.send({ ...registration('agent-it-slots-3', ['linux']), maxConcurrency: 65 });
    expect(await agent.closed).toBe(4010);
    expect(agent.frames.find((f) => f.type === 'auth.failure')?.reason).toContain('the default cap: 64 slots');
  });

  it('the API refuses a slot cap outside 1..10000 with 400', async () => {
    const adminToken = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    for (const maxConcurrency of [0, 10_001, 2.5, '8']) {
      const res = await fetch(`${orch.url}/api/v1/agent-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bad-cap', maxConcurrency }),
      });
      expect(res.status).toBe(400);
    }
    const rows = JSON.parse((await admin(['--json', 'agent', 'token', 'list'])).out) as Record<string, unknown>[];
    expect(rows.some((t) => t.name === 'bad-cap')).toBe(false);
  });

  it('revoking an unknown token is a 404 and exit 1', async () => {
    const r = await admin(['agent', 'token', 'revoke', 'tok_nope']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('404');
  });
});

function registration(agentId: string, labels: string[]): Record<string, unknown> {
  return { type: 'agent.register', agentId, labels, platform: 'linux', arch: 'x64', version: '0.1.0', hostname: 'it', maxConcurrency: 1 };
}

/** A real `ws` client on /ws that keeps every frame and lets a test wait for one by type. */
async function connectAgent() {
  const ws = new WebSocket(`${orch.url.replace(/^http/, 'ws')}/ws`);
  const frames: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve(f: Record<string, unknown>): void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>;
    frames.push(frame);
    for (const w of waiters.filter((x) => x.type === frame.type)) w.resolve(frame);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    frames,
    closed,
    send: (frame: Record<string, unknown>) => ws.send(JSON.stringify(frame)),
    close: () => ws.close(),
    next: (type: string) =>
      Promise.race([
        new Promise<Record<string, unknown>>((resolve) => {
          const seen = frames.find((f) => f.type === type);
          if (seen) resolve(seen);
          else waiters.push({ type, resolve });
        }),
        closed.then((code) => Promise.reject(new Error(`socket closed (${code}) while waiting for ${type}`))),
      ]),
  };
}

describe('admin API authentication', () => {
  it('answers 401 without a token and with a wrong one', async () => {
    const none = await fetch(`${orch.url}/api/v1/sources`);
    const wrong = await fetch(`${orch.url}/api/v1/agent-tokens`, { method: 'POST', headers: { authorization: 'Bearer not-a-real-admin-token' } });
    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('not-a-real-admin-token');
  });

  it('kici-admin with a wrong --token fails with 401 and exit 1', async () => {
    const r = await admin(['--token', 'wrong-admin-token', 'source', 'list']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('401');
    expect(r.err).not.toContain('wrong-admin-token');
  });
});

describe('kici-admin usage errors exit 2', () => {
  it.each([
    ['an unknown command', ['source', 'frobnicate']],
    ['a missing required option', ['source', 'add', 'git', '--org', 'acme', '--name', 'x']],
    ['a secret given twice', ['source', 'add', 'git', '--org', 'acme', '--name', 'x', '--url', 'file:///x', '--secret', 'a', '--stdin']],
    ['an empty --from-env variable', ['source', 'add', 'git', '--org', 'acme', '--name', 'x', '--url', 'file:///x', '--from-env', 'KICI_TEST_UNSET_VARIABLE']],
    ['a generic hmac source without a secret', ['source', 'add', 'generic', '--org', 'acme', '--name', 'nosecret']],
    ['a bad --rate-limit', ['source', 'add', 'generic', '--org', 'acme', '--name', 'x', '--secret', 's', '--rate-limit', 'lots']],
    ['an unknown verification', ['source', 'add', 'generic', '--org', 'acme', '--name', 'x', '--verification', 'magic']],
    ['a --max-concurrency of 0', ['agent', 'token', 'create', '--max-concurrency', '0']],
    ['a --max-concurrency above 10000', ['agent', 'token', 'create', '--max-concurrency', '10001']],
    ['a --max-concurrency that is not a number', ['agent', 'token', 'create', '--max-concurrency', 'lots']],
  ])('%s', async (_what, argv) => {
    const r = await admin(argv);
    expect(r.code).toBe(2);
    expect(r.err.length).toBeGreaterThan(0);
  });

  it('no command at all prints the usage on stderr (and nothing on stdout)', async () => {
    const r = await kiciAdmin([]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('Usage: kici-admin');
    expect(r.err).toContain('runs');
  });

  it('a command group without its command is usage too, while asking for help is not', async () => {
    expect((await kiciAdmin(['runs'])).code).toBe(2);
    expect((await kiciAdmin(['--help'])).code).toBe(0);
    expect((await kiciAdmin(['help', 'runs'])).code).toBe(0);
  });

  it('no orchestrator found is a usage error too', async () => {
    const r = await kiciAdmin(['--data-dir', path.join(tmp, 'nowhere'), 'source', 'list']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no orchestrator URL');
  });
});

describe('kici-admin db migrate', () => {
  it('--status lists migrations of a fresh data directory as pending and applies nothing', async () => {
    const fresh = path.join(tmp, 'fresh');
    const status = await kiciAdmin(['--data-dir', fresh, 'db', 'migrate', '--status']);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^MIGRATION\s+APPLIED/m);
    expect(status.out).toContain('pending');

    const again = await kiciAdmin(['--data-dir', fresh, '--json', 'db', 'migrate', '--status']);
    const parsed = JSON.parse(again.out) as { migrations: { name: string; executedAt: string | null }[] };
    expect(parsed.migrations.length).toBeGreaterThan(0);
    expect(parsed.migrations.every((m) => !m.executedAt)).toBe(true);
  });
});
