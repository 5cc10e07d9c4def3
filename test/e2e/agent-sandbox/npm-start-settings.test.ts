import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { baseEnv, binPath, DevProcess, ensureBuilt, freePort, killAll, type AdminResult } from '../harness/index.js';

/**
 * `npm start` with each variable the README's "What `npm start` does" names: each start says "one
 * local agent connected" only once the orchestrator counts that agent, and kici-admin then works
 * with the admin token that setting implies.
 */
let root: string;
let dev: DevProcess | undefined;

beforeAll(() => {
  ensureBuilt();
  // Under /var/tmp, like npm-start.test.ts: a sandboxed step's /tmp is its own.
  root = realpathSync(mkdtempSync('/var/tmp/kici-npm-start-settings-'));
});

afterEach(async () => {
  await dev?.stop();
  dev = undefined;
});

afterAll(async () => {
  await killAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

function scratch(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  return dir;
}

/** `kici-admin …` run in `cwd` with only the given variables; never throws on a non-zero exit. */
function kiciAdmin(cwd: string, args: string[], env: Record<string, string> = {}): Promise<AdminResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [binPath('kici-admin'), ...args], { cwd, env: baseEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function agentsActive(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^kici_agents_active (\d+)/m.exec(text)?.[1]);
}

let starts = 0;

/** Start kici-dev; once it says its agent is connected, the orchestrator must already count it. */
async function startDev(dir: string, env: Record<string, string | undefined>, cwd = dir): Promise<string> {
  // A log of its own per start: a line from an earlier start must not pass for this one's.
  dev = new DevProcess(env, path.join(dir, `kici-dev-${++starts}.log`), cwd);
  const url = await dev.connected();
  expect(await agentsActive(url), dev.tail()).toBe(1);
  return url;
}

/** The agent token list through kici-admin: the local agent's token is in it. */
function expectLocalAgentToken(r: AdminResult): void {
  expect(r.code, r.stderr).toBe(0);
  const tokens = JSON.parse(r.stdout) as { name: string }[];
  expect(tokens.map((t) => t.name)).toContain('local-dev-agent');
}

describe('npm start settings', () => {
  it('KICI_PORT and KICI_DATA_DIR: listens there, keeps everything there, kici-admin finds URL and token by itself', async () => {
    const dir = scratch('port-and-data-dir');
    const dataDir = path.join(dir, 'elsewhere');
    const port = await freePort();
    const url = await startDev(dir, { KICI_PORT: String(port), KICI_DATA_DIR: dataDir });
    expect(new URL(url).port).toBe(String(port));
    for (const f of ['admin-token', 'secret.key', 'dev-agent-token', 'pglite']) expect(existsSync(path.join(dataDir, f)), f).toBe(true);
    expect(existsSync(path.join(dir, '.kici-data'))).toBe(false);
    expectLocalAgentToken(await kiciAdmin(dir, ['--data-dir', dataDir, '--json', 'agent', 'token', 'list']));
    // What Ctrl-C does: both stop, and kici-dev exits 0.
    dev!.child.kill('SIGINT');
    expect((await dev!.exited).code).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('no KICI_DATA_DIR: the data stays in ./.kici-data of the working directory, where kici-admin looks by default', async () => {
    const dir = scratch('default-data-dir');
    const url = await startDev(dir, { KICI_PORT: String(await freePort()) });
    expect(existsSync(path.join(dir, '.kici-data', 'admin-token'))).toBe(true);
    expect(readFileSync(path.join(dir, '.kici-data', 'orchestrator-url'), 'utf8').trim()).toBe(url);
    expectLocalAgentToken(await kiciAdmin(dir, ['--json', 'agent', 'token', 'list']));
  });

  it('KICI_PORT=0 and KICI_SECRET_KEY: the orchestrator picks a port the agent is pointed at, and uses the key as given', async () => {
    const dir = scratch('port-zero-secret-key');
    const dataDir = path.join(dir, 'data');
    const key = 'ab'.repeat(32);
    const url = await startDev(dir, { KICI_PORT: '0', KICI_DATA_DIR: dataDir, KICI_SECRET_KEY: key });
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
    // No key generated into the data directory, and none printed.
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
    expect(dev!.output()).not.toContain(key);
    expectLocalAgentToken(await kiciAdmin(dir, ['--data-dir', dataDir, '--json', 'agent', 'token', 'list']));
  });

  it('KICI_BOOTSTRAP_ADMIN_TOKEN: starts with the chosen token, writes no token file, prints the token nowhere; later starts need it no more', async () => {
    const dir = scratch('bootstrap-token');
    const dataDir = path.join(dir, 'data');
    const chosen = 'chosen-admin-token-for-npm-start-e2e';
    const env = { KICI_PORT: String(await freePort()), KICI_DATA_DIR: dataDir };
    await startDev(dir, { ...env, KICI_BOOTSTRAP_ADMIN_TOKEN: chosen });
    expect(existsSync(path.join(dataDir, 'admin-token'))).toBe(false);
    expect(dev!.output()).not.toContain(chosen);
    expectLocalAgentToken(await kiciAdmin(dir, ['--data-dir', dataDir, '--json', 'agent', 'token', 'list'], { KICI_ADMIN_TOKEN: chosen }));
    // Without the token kici-admin has nothing to authenticate with: no file holds it.
    expect((await kiciAdmin(dir, ['--data-dir', dataDir, 'agent', 'token', 'list'])).code).toBe(2);

    // The local agent's token was made on the first start; a start without the variable reuses it.
    await dev!.stop();
    await startDev(dir, env);
    expectLocalAgentToken(await kiciAdmin(dir, ['--data-dir', dataDir, '--json', 'agent', 'token', 'list'], { KICI_ADMIN_TOKEN: chosen }));
  });

  it('KICI_DATABASE_URL: a real PostgreSQL instead of PGlite', async () => {
    const dir = scratch('postgres');
    const dataDir = path.join(dir, 'data');
    await startDev(dir, { KICI_PORT: String(await freePort()), KICI_DATA_DIR: dataDir, KICI_DATABASE_URL: await freshDatabaseUrl() });
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
    expectLocalAgentToken(await kiciAdmin(dir, ['--data-dir', dataDir, '--json', 'agent', 'token', 'list']));
  });

  it('says nothing of a connected agent when its agent cannot register, and stops', async () => {
    const dir = scratch('agent-refused');
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir);
    // A token no orchestrator issued: the agent is refused and does not retry.
    writeFileSync(path.join(dataDir, 'dev-agent-token'), 'kat_not-one-the-orchestrator-issued\n', { mode: 0o600 });
    dev = new DevProcess({ KICI_PORT: String(await freePort()), KICI_DATA_DIR: dataDir }, path.join(dir, 'kici-dev.log'), dir);
    const { code } = await dev.exited;
    expect(code, dev.tail()).toBe(1);
    expect(dev.output()).toContain('authentication failed; not reconnecting');
    expect(dev.saidConnected()).toBe(false);
  });
});
