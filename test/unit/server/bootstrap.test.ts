import { afterEach, describe, expect, it, vi } from 'vitest';
// Imported from the file itself so this test does not load the whole composition root.
import { announceAdminToken, type Terminal } from '../../../src/server/bootstrap.js';

const TOKEN = 'kadm_0123456789abcdef0123456789abcdef';
const FILE = '/var/lib/kici/admin-token';

function capture(isTTY: boolean) {
  const shown: string[] = [];
  const logged: unknown[][] = [];
  const terminal: Terminal = { isTTY, write: (text) => void shown.push(text) };
  const log = { info: (...args: unknown[]) => void logged.push(args) };
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { shown, logged, terminal, log: log as never, stderrText: () => stderr.mock.calls.map((c) => String(c[0])).join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('announceAdminToken', () => {
  it('shows a new token on stdout when it is a terminal, and nowhere else', () => {
    const c = capture(true);
    announceAdminToken({ kind: 'created', token: TOKEN, file: FILE }, c.terminal, c.log);
    expect(c.shown.join('')).toContain(TOKEN);
    expect(c.shown.join('')).toContain(FILE);
    expect(c.stderrText()).toBe('');
    expect(c.logged).toEqual([]);
  });

  it('never prints the token when stdout is not a terminal: only where the file is, through the log', () => {
    const c = capture(false);
    announceAdminToken({ kind: 'created', token: TOKEN, file: FILE }, c.terminal, c.log);
    expect(c.shown).toEqual([]);
    // stderr is the JSON log stream: a plain banner there would land in the log collector.
    expect(c.stderrText()).not.toContain(TOKEN);
    expect(c.logged).toEqual([[{ file: FILE }, expect.stringContaining('shown only on a terminal')]]);
    expect(JSON.stringify(c.logged)).not.toContain(TOKEN);
  });

  it('says where an existing token is, on the terminal or through the log', () => {
    const tty = capture(true);
    announceAdminToken({ kind: 'existing', file: FILE }, tty.terminal, tty.log);
    expect(tty.shown.join('')).toContain(FILE);
    vi.restoreAllMocks();
    const piped = capture(false);
    announceAdminToken({ kind: 'existing', file: FILE }, piped.terminal, piped.log);
    expect(piped.shown).toEqual([]);
    expect(piped.stderrText()).toBe('');
    expect(piped.logged).toEqual([[{ file: FILE }, expect.any(String)]]);
  });

  it('says nothing for a token given by KICI_BOOTSTRAP_ADMIN_TOKEN', () => {
    const c = capture(true);
    announceAdminToken({ kind: 'configured' }, c.terminal, c.log);
    expect(c.shown).toEqual([]);
    expect(c.logged).toEqual([]);
  });
});
