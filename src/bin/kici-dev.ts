#!/usr/bin/env node
/**
 * `npm start`: one orchestrator in independent mode plus one local agent connected to it, with the
 * embedded defaults (PGlite, filesystem blobs, a generated key) under ./.kici-data. The agent's
 * token is created through the admin API on first start and kept in the data directory (0600).
 * Ctrl-C stops both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminApi } from '../admin/index.js';
import { ADMIN_TOKEN_FILE, ORCHESTRATOR_URL_FILE, defaultDataDir } from '../admin/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = defaultDataDir();
// Passed on as given: the orchestrator checks it, and its URL file says where it listens (even for 0).
const port = process.env.KICI_PORT || '4000';
const children: ChildProcess[] = [];

function start(bin: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [path.join(here, bin), ...args], { stdio: 'inherit', env });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`kici: ${bin} exited (${signal ?? code}); stopping\n`);
      stop(1);
    }
  });
  return child;
}

let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  const deadline = setTimeout(() => process.exit(code), 10_000);
  deadline.unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))))).then(() =>
    process.exit(code),
  );
}

const urlFile = path.join(dataDir, ORCHESTRATOR_URL_FILE);

/**
 * Polls `probe` every 100 ms until it gives a value; no fixed sleep stands in for an event. Gives
 * up with `what` after `timeoutMs`, or quietly (undefined) once kici-dev is stopping.
 */
async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!stopping) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s (see the log above)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/**
 * The orchestrator writes its URL (host, port and KICI_BASE_PATH as it listens) once it is
 * assembled. Only a file written since `since` is this orchestrator's answer; an older one is left
 * alone, since it may belong to an orchestrator still running on this data directory.
 */
function waitReady(since: number): Promise<string | undefined> {
  return poll('the orchestrator did not become ready', 60_000, async () => {
    if (!existsSync(urlFile) || statSync(urlFile).mtimeMs < since) return undefined;
    const url = readFileSync(urlFile, 'utf8').trim();
    return (await fetch(`${url}/ready`)).ok ? url : undefined;
  });
}

/**
 * The admin token to create the agent's token with: the one the user chose
 * (KICI_BOOTSTRAP_ADMIN_TOKEN, which the orchestrator registers but never writes to disk), else the
 * one kici generated into the data directory. Never printed.
 */
function adminToken(): string {
  const chosen = process.env.KICI_BOOTSTRAP_ADMIN_TOKEN;
  if (chosen) return chosen;
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(
    `no admin token to create the local agent's token with: ${file} is missing (kici writes it only when it generates the ` +
      'token itself); set KICI_BOOTSTRAP_ADMIN_TOKEN to an admin token of this orchestrator',
  );
}

/** The file holding the local agent's token, created through the admin API on first start. */
async function agentTokenFile(url: string): Promise<string> {
  const file = path.join(dataDir, 'dev-agent-token');
  if (existsSync(file)) return file;
  const created = await new AdminApi(url, adminToken()).call<{ token: string }>('POST', '/agent-tokens', { name: 'local-dev-agent' });
  writeFileSync(file, `${created.token}\n`, { mode: 0o600 });
  return file;
}

/**
 * Resolves once the orchestrator itself counts a registered agent (`kici_agents_active`), not when
 * the agent process merely started: "connected" is said only when it is true.
 */
function waitAgentRegistered(url: string): Promise<true | undefined> {
  return poll('the local agent did not register with the orchestrator', 60_000, async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    return Number(/^kici_agents_active (\d+)/m.exec(metrics)?.[1] ?? 0) >= 1 ? true : undefined;
  });
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  const startedAt = Date.now();
  start('kici-orchestrator.js', [], { ...process.env, KICI_DATA_DIR: dataDir, KICI_PORT: port });
  const url = await waitReady(startedAt);
  if (!url) return;
  // The token goes by file, not by environment or argv (any process of the user could read those);
  // the data directory (token, admin token, secret key, database) is hidden from the agent's steps.
  const tokenFile = await agentTokenFile(url);
  const agentEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KICI_AGENT_SANDBOX: process.env.KICI_AGENT_SANDBOX };
  const agentArgs = ['--url', `${url.replace(/^http/, 'ws')}/ws`, '--token-file', tokenFile, '--hide', dataDir, '--work-dir', path.join(dataDir, 'agent')];
  start('kici-agent.js', [...agentArgs, '--labels', 'local'], agentEnv);
  if (!(await waitAgentRegistered(url))) return;
  process.stderr.write(`kici: orchestrator at ${url}, one local agent connected. Ctrl-C stops both.\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`kici: ${e.message}\n`);
  stop(1);
});
