#!/usr/bin/env node
/**
 * `npm start`: one orchestrator in independent mode plus one local agent connected to it, with the
 * embedded defaults (PGlite, filesystem blobs, a generated key) under ./.kici-data. The agent's
 * token is created through the admin API on first start and kept in the data directory (0600).
 * Ctrl-C stops both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminApi } from '../admin/index.js';
import { ADMIN_TOKEN_FILE, defaultDataDir } from '../admin/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = defaultDataDir();
const port = Number(process.env.KICI_PORT ?? 4000);
const url = `http://127.0.0.1:${port}`;
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

async function waitReady(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${url}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the orchestrator did not become ready at ${url}`);
}

/** The file holding the local agent's token, created through the admin API on first start. */
async function agentTokenFile(): Promise<string> {
  const file = path.join(dataDir, 'dev-agent-token');
  if (existsSync(file)) return file;
  const adminToken = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
  const created = await new AdminApi(url, adminToken).call<{ token: string }>('POST', '/agent-tokens', { name: 'local-dev-agent' });
  writeFileSync(file, `${created.token}\n`, { mode: 0o600 });
  return file;
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  start('kici-orchestrator.js', [], { ...process.env, KICI_DATA_DIR: dataDir, KICI_PORT: String(port) });
  await waitReady();
  // The token goes by file, not by environment or argv (any process of the user could read those);
  // the data directory (token, admin token, secret key, database) is hidden from the agent's steps.
  const tokenFile = await agentTokenFile();
  const agentEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KICI_AGENT_SANDBOX: process.env.KICI_AGENT_SANDBOX };
  const agentArgs = ['--url', `ws://127.0.0.1:${port}/ws`, '--token-file', tokenFile, '--hide', dataDir, '--work-dir', path.join(dataDir, 'agent')];
  start('kici-agent.js', [...agentArgs, '--labels', 'local'], agentEnv);
  process.stderr.write(`kici: orchestrator at ${url}, one local agent connected. Ctrl-C stops both.\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`kici: ${e.message}\n`);
  stop(1);
});
