import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildStepEnv, parseAgentArgs } from '../../../src/agent/index.js';
import { makeDispatch } from './fixtures.js';

const TOKEN = 'kat_token_from_file_3b9d';
const url = ['--url', 'ws://h:4000/ws'];
let dir: string;
let tokenFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kici-token-file-'));
  mkdirSync(join(dir, 'secrets'));
  tokenFile = join(dir, 'secrets', 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refused(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  const parsed = parseAgentArgs(argv, env);
  expect(parsed.ok).toBe(false);
  if (parsed.ok) return '';
  expect(parsed.exitCode).toBe(2);
  return parsed.message;
}

describe('--token-file', () => {
  it('reads the token from the file (the line, without its newline) and hides the file’s directory', () => {
    const parsed = parseAgentArgs([...url, '--token-file', tokenFile, '--work-dir', join(dir, 'work')], {});
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.args.token).toBe(TOKEN);
    expect(parsed.args.hidden).toEqual([join(dir, 'work'), join(dir, 'secrets')]);
  });

  it('is read from KICI_AGENT_TOKEN_FILE too, and --token-file wins over KICI_AGENT_TOKEN', () => {
    const fromEnv = parseAgentArgs(url, { KICI_AGENT_TOKEN_FILE: tokenFile });
    expect(fromEnv.ok && fromEnv.args.token).toBe(TOKEN);
    const flagWins = parseAgentArgs([...url, '--token-file', tokenFile], { KICI_AGENT_TOKEN: 'kat_from_env' });
    expect(flagWins.ok && flagWins.args.token).toBe(TOKEN);
  });

  it('refuses --token together with --token-file, and both variables together', () => {
    expect(refused([...url, '--token', 'kat_x', '--token-file', tokenFile])).toContain('--token and --token-file cannot be used together');
    expect(refused(url, { KICI_AGENT_TOKEN: 'kat_x', KICI_AGENT_TOKEN_FILE: tokenFile })).toContain('cannot both be set');
  });

  it('names a missing, empty, unreadable or multi-line file without ever printing what is in it', () => {
    expect(refused([...url, '--token-file', join(dir, 'nope')])).toContain(`--token-file ${join(dir, 'nope')}: no such file`);

    writeFileSync(tokenFile, ' \n\n');
    expect(refused([...url, '--token-file', tokenFile])).toContain(`--token-file ${tokenFile} is empty`);

    writeFileSync(tokenFile, `${TOKEN}\nsecond-line-${TOKEN}\n`);
    const twoLines = refused([...url, '--token-file', tokenFile]);
    expect(twoLines).toContain('must hold the token alone');
    expect(twoLines).not.toContain(TOKEN);

    expect(refused([...url, '--token-file', join(dir, 'secrets')])).toContain('is a directory');

    if (process.getuid?.() !== 0) {
      // Root reads a 0000 file anyway; the message is only checked where the refusal can happen.
      writeFileSync(tokenFile, TOKEN);
      chmodSync(tokenFile, 0o000);
      expect(refused([...url, '--token-file', tokenFile])).toContain('permission denied');
    }
  });

  it('refuses a token file whose directory steps cannot do without', () => {
    // A directory on PATH is one steps need (their tools are there), as /etc or /usr would be.
    const message = refused([...url, '--token-file', tokenFile], { PATH: `/usr/bin:${join(dir, 'secrets')}` });
    expect(message).toContain(`--token-file's directory ${join(dir, 'secrets')} is hidden from steps, but steps need ${join(dir, 'secrets')}`);
    expect(message).toContain('give it a directory of its own');
  });
});

describe('--sandbox and --hide', () => {
  const env = { KICI_AGENT_TOKEN: 'kat_x', PATH: '/usr/local/bin:/usr/bin:/bin' };

  it('defaults to auto, takes KICI_AGENT_SANDBOX, and the flag wins', () => {
    const byDefault = parseAgentArgs(url, env);
    expect(byDefault.ok && byDefault.args.sandbox).toBe('auto');
    const fromEnv = parseAgentArgs(url, { ...env, KICI_AGENT_SANDBOX: 'none' });
    expect(fromEnv.ok && fromEnv.args.sandbox).toBe('none');
    const flag = parseAgentArgs([...url, '--sandbox', 'bwrap'], { ...env, KICI_AGENT_SANDBOX: 'none' });
    expect(flag.ok && flag.args.sandbox).toBe('bwrap');
    expect(refused([...url, '--sandbox', 'docker'], env)).toContain('--sandbox must be one of auto, bwrap, none');
  });

  it('hides the work dir and every --hide (repeatable, or KICI_AGENT_HIDE split like PATH), resolved', () => {
    const flags = parseAgentArgs([...url, '--work-dir', '/w', '--hide', '/srv/kici-data', '--hide', 'rel/dir'], env);
    expect(flags.ok && flags.args.hidden).toEqual(['/w', '/srv/kici-data', join(process.cwd(), 'rel/dir')]);
    const fromEnv = parseAgentArgs([...url, '--work-dir', '/w'], { ...env, KICI_AGENT_HIDE: '/a:/b' });
    expect(fromEnv.ok && fromEnv.args.hidden).toEqual(['/w', '/a', '/b']);
  });

  it('refuses to hide what every step needs: a system directory or one on PATH', () => {
    expect(refused([...url, '--hide', '/usr'], env)).toContain('--hide /usr is hidden from steps, but steps need /usr');
    expect(refused([...url, '--hide', '/'], env)).toContain('steps need /');
    expect(refused([...url, '--hide', '/usr/local'], env)).toContain('steps need /usr/local/bin');
  });
});

describe('the environment built for a step', () => {
  it('holds neither the token nor where it is, however the agent was given it', () => {
    const host = {
      PATH: '/usr/bin',
      HOME: '/home/ci',
      KICI_AGENT_TOKEN: TOKEN,
      KICI_AGENT_TOKEN_FILE: tokenFile,
      KICI_AGENT_SANDBOX: 'auto',
      KICI_AGENT_HIDE: '/srv/data',
    };
    const env = buildStepEnv({ host, dispatch: makeDispatch(), step: { run: 'true' }, needsFile: '/n', outputFile: '/o' });
    expect(Object.keys(env).filter((name) => name.startsWith('KICI_AGENT_'))).toEqual([]);
    expect(Object.values(env).join('\n')).not.toContain(TOKEN);
    expect(Object.values(env).join('\n')).not.toContain(tokenFile);
    expect(env).toMatchObject({ PATH: '/usr/bin', HOME: '/home/ci' });
  });
});
