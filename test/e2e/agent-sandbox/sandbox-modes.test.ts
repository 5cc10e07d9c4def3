import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseSandbox, findProgram } from '../../../src/agent/sandbox/index.js';
import { binPath, ensureBuilt, killAll, NodeProcess, waitUntil } from '../harness/index.js';

/**
 * The real `kici-agent` program deciding where steps run, before it ever connects: nothing listens
 * at its URL, which does not matter for what is checked here.
 */
const URL = 'ws://127.0.0.1:9/ws';
const TOKEN = 'kat_sandbox_modes_5c0ffee';
let dir: string;
/** A PATH with what an agent needs (node is started by its full path) but no bwrap. */
let noBwrapPath: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'kici-sandbox-modes-'));
  noBwrapPath = path.join(dir, 'bin');
  mkdirSync(noBwrapPath);
  for (const tool of ['bash', 'env', 'git', 'sh']) symlinkSync(findProgram(tool, process.env.PATH) as string, path.join(noBwrapPath, tool));
});

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

function agentExit(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [binPath('kici-agent'), ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function startAgent(name: string, args: string[], env: Record<string, string>): NodeProcess {
  return new NodeProcess(name, binPath('kici-agent'), ['--url', URL, '--work-dir', path.join(dir, name), ...args], env, path.join(dir, `${name}.log`));
}

/** Wait for the agent's line about where steps run (written before it connects). */
async function sandboxLine(agent: NodeProcess): Promise<{ level: number; msg: string; sandbox: string }> {
  const line = await waitUntil('the agent to say where steps run', () => agent.output().split('\n').find((l) => l.includes('"sandbox":')), {
    describe: () => agent.tail(10),
  });
  return JSON.parse(line) as { level: number; msg: string; sandbox: string };
}

describe('kici-agent --sandbox', () => {
  it('bwrap: refuses to start (exit 2) when bubblewrap is missing, saying how to install it', async () => {
    const r = await agentExit(['--url', URL, '--work-dir', path.join(dir, 'refuse'), '--sandbox', 'bwrap'], { PATH: noBwrapPath, KICI_AGENT_TOKEN: TOKEN });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--sandbox bwrap: bubblewrap does not work here (bwrap is not on PATH)');
    expect(r.stderr).toContain('apt-get install bubblewrap');
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  it('auto: starts without a sandbox and warns once, saying how to install bubblewrap', async () => {
    const agent = startAgent('fallback', [], { PATH: noBwrapPath, KICI_AGENT_TOKEN: TOKEN, KICI_LOG_LEVEL: 'info' });
    const line = await sandboxLine(agent);
    expect(line).toMatchObject({ level: 40, sandbox: 'none' });
    expect(line.msg).toContain('apt-get install bubblewrap');
    // It goes on to run (connect, and take jobs) rather than exit.
    await waitUntil('the agent to try to connect', () => (agent.output().includes('"msg":"agent starting"') ? true : undefined), { describe: () => agent.tail(5) });
    expect(agent.running).toBe(true);
    expect(agent.output().split('\n').filter((l) => l.includes('bubblewrap')).length).toBe(1);
    await agent.stop();
  });

  const bwrapWorks = chooseSandbox({ mode: 'bwrap', hidden: [], hostEnv: process.env }).ok;
  it.skipIf(!bwrapWorks)('auto (the default): sandboxes when bubblewrap works, and says so', async () => {
    const agent = startAgent('default', [], { PATH: process.env.PATH ?? '', KICI_AGENT_TOKEN: TOKEN, KICI_LOG_LEVEL: 'info' });
    const line = await sandboxLine(agent);
    expect(line).toMatchObject({ level: 30, sandbox: 'bwrap' });
    expect(line.msg).toContain('steps run in a bubblewrap sandbox');
    await agent.stop();
  });

  it('none: warns that steps are not isolated', async () => {
    const agent = startAgent('none', ['--sandbox', 'none'], { PATH: process.env.PATH ?? '', KICI_AGENT_TOKEN: TOKEN, KICI_LOG_LEVEL: 'info' });
    const line = await sandboxLine(agent);
    expect(line).toMatchObject({ level: 40, sandbox: 'none' });
    expect(line.msg).toContain('not isolated');
    await agent.stop();
  });
});

describe('kici-agent --token-file', () => {
  const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? '' });

  it('is a usage error (exit 2) together with --token, or when the file is missing or empty, and never shows the file', async () => {
    const file = path.join(dir, 'token-secrets', 'token');
    mkdirSync(path.dirname(file), { recursive: true });
    const args = ['--url', URL, '--work-dir', path.join(dir, 'token-errors')];

    writeFileSync(file, `${TOKEN}\n`);
    const both = await agentExit([...args, '--token', TOKEN, '--token-file', file], env());
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--token and --token-file cannot be used together');

    const missing = await agentExit([...args, '--token-file', `${file}.missing`], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--token-file ${file}.missing: no such file`);

    writeFileSync(file, '\n');
    const empty = await agentExit([...args, '--token-file', file], env());
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(`--token-file ${file} is empty`);

    // Pointed at the wrong file: what it holds stays out of the message.
    writeFileSync(file, 'root:x:0:0:wrong-file-content\nsecond line\n');
    const wrong = await agentExit([...args, '--token-file', file], env());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).not.toContain('wrong-file-content');
  });
});
