/**
 * How the cluster routes answer what the ClusterAdmin port says: refusals in HTTP, bodies
 * validated, revoke-all sparing the answering node. A real single-node orchestrator cannot refuse
 * for want of a leader, so the port here is a small honest one: a member list and the errors the
 * port's contract names. What a real node answers is in test/integration/admin/cluster-members.test.ts.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { clusterRoutes } from '../../../src/admin/api/cluster.js';
import {
  ApiFailure,
  ClusterUnavailableError,
  RevokeSelfError,
  UnknownMemberError,
  type ClusterAdmin,
  type ClusterMemberView,
  type RevokedMember,
} from '../../../src/admin/index.js';

function member(node: string, over: Partial<ClusterMemberView> = {}): ClusterMemberView {
  return { node, raftId: 1, address: `${node}:7443`, role: 'coordinator', standing: 'voter', connected: true, self: false, leader: false, matchIndex: null, lag: null, shards: 0, certificate: null, held: null, ...over };
}

/** Members by name; `unavailable` are those whose revocation finds no leader to propose to. */
function cluster(members: ClusterMemberView[], unavailable: string[] = []) {
  const revoked: string[] = [];
  const faults: string[] = [];
  const admin: ClusterAdmin = {
    status: async () => ({ clusterId: 'c1', nodeId: 'a', term: 3, commitIndex: 9, appliedIndex: 9, leader: { node: 'a', address: 'a:7443' }, ready: true, reason: null, members }),
    revoke: async (nodeId): Promise<RevokedMember> => {
      const m = members.find((x) => x.node === nodeId);
      if (!m) throw new UnknownMemberError(nodeId);
      if (m.self) throw new RevokeSelfError(nodeId);
      if (unavailable.includes(nodeId)) throw new ClusterUnavailableError('no leader to propose to');
      revoked.push(nodeId);
      return { nodeId, newlyRevoked: true, serials: [`${nodeId}-serial`] };
    },
    faults: { cut: (peer, direction) => void faults.push(`cut ${peer} ${direction}`), heal: (peer) => void faults.push(`heal ${peer ?? '*'}`) },
  };
  return { admin, revoked, faults };
}

const MEMBERS = [member('a', { self: true, leader: true }), member('b'), member('c')];

/** Call a route as the server would, answering a refusal as its status and `{ code, message }`. */
async function call(admin: ClusterAdmin | undefined, method: string, path: string, body?: unknown) {
  for (const [m, pattern, handler] of clusterRoutes({ cluster: admin })) {
    const params = match(pattern, path);
    if (m !== method || !params) continue;
    const raw = Readable.from(body === undefined ? [] : [Buffer.from(JSON.stringify(body))]) as unknown as IncomingMessage;
    try {
      const reply = await handler({ caller: { tokenId: 'adm_test', name: 'alice', role: 'admin' }, params, query: new URLSearchParams(), headers: {}, raw }, undefined as never);
      return { status: reply!.status, body: reply!.body as Record<string, unknown> };
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      return { status: e.status, body: { error: { code: e.code, message: e.message } } };
    }
  }
  throw new Error(`no route ${method} ${path}`);
}

function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) params[want[i]!.slice(1)] = decodeURIComponent(got[i]!);
    else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

describe('cluster routes', () => {
  it('answer 503 cluster_unavailable on a node built without a cluster, and 404 for faults', async () => {
    for (const [method, path, body] of [['GET', '/peers'], ['GET', '/cluster/status'], ['DELETE', '/peers/b'], ['POST', '/peers/revoke-all', { confirm: true }]] as const) {
      expect(await call(undefined, method, path, body), `${method} ${path}`).toEqual({ status: 503, body: { error: { code: 'cluster_unavailable', message: expect.any(String) } } });
    }
    expect((await call(undefined, 'POST', '/cluster/faults', { action: 'heal' })).status).toBe(404);
  });

  it('GET /peers lists the members with the leader and the cluster', async () => {
    const { admin } = cluster(MEMBERS);
    expect(await call(admin, 'GET', '/peers')).toEqual({ status: 200, body: { members: MEMBERS, leader: { node: 'a', address: 'a:7443' }, clusterId: 'c1' } });
  });

  it('DELETE /peers/:nodeId maps each refusal of the port', async () => {
    const { admin, revoked } = cluster(MEMBERS, ['c']);
    expect(await call(admin, 'DELETE', '/peers/b')).toEqual({ status: 200, body: { nodeId: 'b', revoked: true, serials: ['b-serial'] } });
    expect(await call(admin, 'DELETE', '/peers/zed')).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no member zed in the cluster' } } });
    expect(await call(admin, 'DELETE', '/peers/a')).toMatchObject({ status: 409, body: { error: { code: 'revoke_self' } } });
    expect(await call(admin, 'DELETE', '/peers/c')).toEqual({ status: 503, body: { error: { code: 'cluster_unavailable', message: 'no leader to propose to' } } });
    expect(revoked).toEqual(['b']);
  });

  it('DELETE /peers/:nodeId refuses what is not a node id before asking the cluster', async () => {
    const { admin, revoked } = cluster(MEMBERS);
    for (const bad of ['node%202', 'x'.repeat(65), '..%2Fruns', '%C5%93']) {
      expect(await call(admin, 'DELETE', `/peers/${bad}`), bad).toEqual({
        status: 400,
        body: { error: { code: 'invalid_request', message: 'nodeId: a node id is 1–64 letters, digits, dots, dashes or underscores' } },
      });
    }
    expect(revoked).toEqual([]);
  });

  it('POST /peers/revoke-all needs confirm: true, to the letter', async () => {
    const { admin, revoked } = cluster(MEMBERS);
    for (const body of [undefined, {}, { confirm: false }, { confirm: 'true' }, { confirm: 1 }]) {
      expect(await call(admin, 'POST', '/peers/revoke-all', body), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request', message: 'confirm: must be true: this revokes every member but the node answering, for good' } },
      });
    }
    expect(await call(admin, 'POST', '/peers/revoke-all', { confirm: true, force: true })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('force') } } });
    expect(revoked).toEqual([]);
  });

  it('POST /peers/revoke-all revokes every other member in turn and reports those refused', async () => {
    const { admin, revoked } = cluster([...MEMBERS, member('d')], ['c']);
    expect(await call(admin, 'POST', '/peers/revoke-all', { confirm: true })).toEqual({
      status: 200,
      body: {
        revoked: [
          { nodeId: 'b', newlyRevoked: true, serials: ['b-serial'] },
          { nodeId: 'd', newlyRevoked: true, serials: ['d-serial'] },
        ],
        failed: [{ nodeId: 'c', error: { code: 'cluster_unavailable', message: 'no leader to propose to' } }],
      },
    });
    expect(revoked).toEqual(['b', 'd']);
  });

  it('POST /cluster/faults cuts (both ways unless told) and heals through the hook', async () => {
    const { admin, faults } = cluster(MEMBERS);
    expect(await call(admin, 'POST', '/cluster/faults', { action: 'cut', peer: 'b' })).toEqual({ status: 200, body: { ok: true } });
    await call(admin, 'POST', '/cluster/faults', { action: 'cut', peer: 'c', direction: 'inbound' });
    await call(admin, 'POST', '/cluster/faults', { action: 'heal', peer: 'b' });
    await call(admin, 'POST', '/cluster/faults', { action: 'heal' });
    expect(faults).toEqual(['cut b both', 'cut c inbound', 'heal b', 'heal *']);
  });

  it('POST /cluster/faults answers a bad body with 400 naming the field, and does nothing', async () => {
    const { admin, faults } = cluster(MEMBERS);
    const cases: [unknown, string][] = [
      [{ action: 'cut' }, 'peer: required: the node to act on'],
      [{ action: 'cut', peer: 'b', direction: 'sideways' }, 'direction: must be inbound, outbound or both'],
      [{ action: 'cut', peer: 'b c' }, 'peer: a node id is 1–64 letters, digits, dots, dashes or underscores'],
      [{ action: 'partition', peer: 'b' }, 'action: must be cut or heal'],
      [{ action: 'heal', direction: 'both' }, 'body: Unrecognized key: "direction"'],
    ];
    for (const [body, message] of cases) {
      expect(await call(admin, 'POST', '/cluster/faults', body), JSON.stringify(body)).toEqual({ status: 400, body: { error: { code: 'invalid_request', message } } });
    }
    expect(faults).toEqual([]);
  });

  it('POST /cluster/faults is 404 where fault injection is off, whatever the body', async () => {
    const { admin } = cluster(MEMBERS);
    const off: ClusterAdmin = { status: admin.status, revoke: admin.revoke };
    expect(await call(off, 'POST', '/cluster/faults', { action: 'cut', peer: 'b' })).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'fault injection is off on this node' } } });
    expect((await call(off, 'POST', '/cluster/faults', { action: 'nonsense' })).status).toBe(404);
  });
});
