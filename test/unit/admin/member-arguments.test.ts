import { afterEach, describe, expect, it, vi } from 'vitest';
import { runAdminOffline } from './offline-admin.js';
// Imported from the file itself: the checks run before any orchestrator is asked.
import { instanceIdArgument, revokeAllConfirmed } from '../../../src/admin/cli/peers.js';
import { UsageError } from '../../../src/admin/cli/secret-input.js';

const TOKEN = `kici1.${'ab'.repeat(32)}.0123456789abcdef.${'S'.repeat(43)}`;

describe('peer revoke --instance-id', () => {
  it('takes a node id as the cluster names it', () => {
    expect(instanceIdArgument('node-2')).toBe('node-2');
    expect(instanceIdArgument(' eu-west.node_7 ')).toBe('eu-west.node_7');
    expect(instanceIdArgument('n'.repeat(64))).toBe('n'.repeat(64));
  });

  it('refuses anything else, naming the flag', () => {
    for (const bad of ['', ' ', 'n'.repeat(65), 'node 2', '../runs', 'node/2', 'nœud', 'node%2F']) {
      expect(() => instanceIdArgument(bad), bad).toThrow(UsageError);
      expect(() => instanceIdArgument(bad), bad).toThrow(/^--instance-id must be a node id, 1–64 letters, digits, dots, dashes or underscores/);
    }
  });

  it('refuses a join token pasted in its place without quoting any of it', () => {
    let message = '';
    try {
      instanceIdArgument(TOKEN);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('--instance-id takes a node id (see `kici-admin peer list`), not a join token');
  });

  it('quotes no more than the start of a long bad value', () => {
    expect(() => instanceIdArgument(`${'x'.repeat(30)}!SECRETPART`)).toThrow(`not "${'x'.repeat(20)}…"`);
  });
});

describe('peer revoke-all --confirm', () => {
  it('goes ahead only when confirmed', () => {
    expect(revokeAllConfirmed({ confirm: true })).toBe(true);
    for (const confirm of [undefined, false, 'true', 'yes']) {
      expect(() => revokeAllConfirmed({ confirm }), String(confirm)).toThrow(
        'peer revoke-all revokes every member of the cluster but the node answering, for good; add --confirm to do it',
      );
    }
  });
});

describe('kici-admin peer and cluster with bad arguments', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const run = runAdminOffline;

  it('exits 2 with the reason and asks nothing of the orchestrator', async () => {
    expect(await run(['peer', 'revoke-all'])).toEqual({
      code: 2,
      err: 'kici-admin: peer revoke-all revokes every member of the cluster but the node answering, for good; add --confirm to do it\n',
      sent: [],
    });
    expect(await run(['peer', 'revoke', '--instance-id', 'node 2'])).toMatchObject({ code: 2, err: expect.stringContaining('--instance-id must be a node id'), sent: [] });
    expect(await run(['peer', 'revoke', '--instance-id', TOKEN])).toMatchObject({ code: 2, err: expect.not.stringContaining('SSSS'), sent: [] });
    // Without the flag, or with a node given as a bare argument, commander refuses it.
    expect(await run(['peer', 'revoke'])).toMatchObject({ code: 2, err: expect.stringContaining('--instance-id'), sent: [] });
    expect(await run(['peer', 'revoke', 'node-2'])).toMatchObject({ code: 2, sent: [] });
    expect(await run(['peer', 'list', 'extra'])).toMatchObject({ code: 2, sent: [] });
    expect(await run(['cluster', 'status', '--leader'])).toMatchObject({ code: 2, sent: [] });
  });

  it('does send once the arguments are good (so the refusals above are the checks, not a dead address)', async () => {
    const r = await run(['peer', 'revoke', '--instance-id', ' node-2 ']);
    expect(r).toMatchObject({ code: 1, sent: ['DELETE http://127.0.0.1:9/api/v1/peers/node-2'], err: expect.stringContaining('cannot reach the orchestrator') });
    expect(await run(['peer', 'revoke-all', '--confirm'])).toMatchObject({ code: 1, sent: ['POST http://127.0.0.1:9/api/v1/peers/revoke-all'] });
    expect(await run(['cluster', 'status'])).toMatchObject({ code: 1, sent: ['GET http://127.0.0.1:9/api/v1/cluster/status'] });
    expect(await run(['peer', 'list', '--json'])).toMatchObject({ code: 1, sent: ['GET http://127.0.0.1:9/api/v1/peers'] });
  });
});
