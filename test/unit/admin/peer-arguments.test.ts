import { afterEach, describe, expect, it, vi } from 'vitest';
import { runAdminOffline } from './offline-admin.js';
// Imported from the file itself: the checks run before any orchestrator is asked.
import { joinTokenIdArgument, joinTokenOptions } from '../../../src/admin/cli/peers.js';
import { UsageError } from '../../../src/admin/cli/secret-input.js';

const TOKEN = `kici1.${'ab'.repeat(32)}.0123456789abcdef.${'S'.repeat(43)}`;

describe('peer create-token arguments', () => {
  it('defaults to a worker token for one hour', () => {
    expect(joinTokenOptions({})).toEqual({ role: 'worker', expiryHours: 1 });
  });

  it('takes either role and 1 to 720 whole hours', () => {
    expect(joinTokenOptions({ role: 'coordinator', expiryHours: '720' })).toEqual({ role: 'coordinator', expiryHours: 720 });
    expect(joinTokenOptions({ role: 'worker', expiryHours: '1' })).toEqual({ role: 'worker', expiryHours: 1 });
    expect(joinTokenOptions({ expiryHours: ' 24 ' })).toEqual({ role: 'worker', expiryHours: 24 });
  });

  it('refuses any other role by name', () => {
    for (const role of ['admin', 'Coordinator', '', 'workers']) {
      expect(() => joinTokenOptions({ role })).toThrow(UsageError);
      expect(() => joinTokenOptions({ role })).toThrow(`--role must be coordinator or worker, not ${JSON.stringify(role)}`);
    }
  });

  it('refuses hours out of range or not whole', () => {
    for (const hours of ['0', '721', '1.5', '-1', '1e2', '2h', '', 'ten', '0x10', '99999']) {
      expect(() => joinTokenOptions({ expiryHours: hours }), hours).toThrow(/^--expiry-hours must be a whole number of hours from 1 to 720 \(30 days\), not /);
    }
  });

  it('never quotes more than the start of what it refuses, so a token pasted by mistake keeps its secret', () => {
    let message = '';
    try {
      joinTokenOptions({ role: TOKEN });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('kici1.');
    expect(message).not.toContain('SSSS');
  });
});

describe('peer revoke-token argument', () => {
  it('is a 16-hex-digit id, in either case', () => {
    expect(joinTokenIdArgument('0123456789ABCDEF')).toBe('0123456789abcdef');
    expect(joinTokenIdArgument(' 0123456789abcdef ')).toBe('0123456789abcdef');
  });

  it('refuses anything else, and a whole token without quoting it', () => {
    for (const bad of ['', '0123', '0123456789abcdeg', '0123456789abcdef0', '../../runs']) {
      expect(() => joinTokenIdArgument(bad)).toThrow('a join token id is 16 hex digits (see `kici-admin peer tokens`)');
    }
    expect(() => joinTokenIdArgument(TOKEN)).toThrow('give the token id (16 hex digits, shown by `peer tokens`), not the token itself');
  });
});

describe('kici-admin peer with bad arguments', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function run(argv: string[]) {
    const { code, err, sent } = await runAdminOffline(argv);
    return { code, err, fetched: sent.length };
  }

  it('exits 2 with the reason and asks nothing of the orchestrator', async () => {
    expect(await run(['peer', 'create-token', '--role', 'boss'])).toEqual({ code: 2, err: 'kici-admin: --role must be coordinator or worker, not "boss"\n', fetched: 0 });
    expect(await run(['peer', 'create-token', '--expiry-hours', '0'])).toMatchObject({ code: 2, err: expect.stringContaining('--expiry-hours must be'), fetched: 0 });
    expect(await run(['peer', 'create-token', '--expiry-hours', '1000'])).toMatchObject({ code: 2, fetched: 0 });
    expect(await run(['peer', 'revoke-token', 'nope'])).toMatchObject({ code: 2, err: expect.stringContaining('16 hex digits'), fetched: 0 });
    expect(await run(['peer', 'revoke-token', TOKEN])).toMatchObject({ code: 2, err: expect.not.stringContaining('SSSS'), fetched: 0 });
    expect(await run(['peer', 'revoke-token'])).toMatchObject({ code: 2, fetched: 0 });
    expect(await run(['peer', 'create-token', '--role'])).toMatchObject({ code: 2, fetched: 0 });
  });
});
