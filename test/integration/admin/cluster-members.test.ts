/**
 * The cluster's members through the admin API and kici-admin, against a real orchestrator: a
 * cluster of one, so it leads, lists itself, and refuses to revoke itself. The refusals a larger
 * cluster can give (no leader) are mapped in test/unit/admin/cluster-routes.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMemberView, ClusterStatusView } from '../../../src/admin/index.js';
import { SeededRandom } from '../../../src/clock/index.js';
import { PeerFaults } from '../../../src/transport/index.js';
import { OrchestratorRig } from '../server/orchestrator-rig.js';
import { kiciAdmin } from './admin-cli-run.js';

async function api(rig: OrchestratorRig, method: string, route: string, body?: unknown) {
  const res = await fetch(`${rig.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${rig.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

describe('cluster members on a node of its own', () => {
  let rig: OrchestratorRig;
  const admin = (args: string[]) => kiciAdmin(['--url', rig.url, '--token', rig.adminToken, ...args]);

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('GET /cluster/status and GET /peers show the node leading a cluster of one', async () => {
    const status = (await api(rig, 'GET', '/cluster/status')).json as unknown as ClusterStatusView;
    expect(status).toMatchObject({ clusterId: rig.orch.clusterId, nodeId: rig.orch.nodeId, ready: true, reason: null, leader: { node: rig.orch.nodeId } });
    expect(status.members).toEqual([expect.objectContaining({ node: rig.orch.nodeId, self: true, leader: true, connected: true })]);
    expect(status.appliedIndex).toBeLessThanOrEqual(status.commitIndex);

    const peers = await api(rig, 'GET', '/peers');
    expect(peers).toEqual({ status: 200, json: { members: status.members, leader: status.leader, clusterId: rig.orch.clusterId } });
    expect((await fetch(`${rig.url}/api/v1/peers`)).status).toBe(401);
  });

  it('refuses to revoke the node answering, an unknown node, or what is not a node id', async () => {
    const self = await api(rig, 'DELETE', `/peers/${rig.orch.nodeId}`);
    expect(self).toMatchObject({ status: 409, json: { error: { code: 'revoke_self' } } });
    expect(await api(rig, 'DELETE', '/peers/no-such-node')).toEqual({ status: 404, json: { error: { code: 'not_found', message: 'no member no-such-node in the cluster' } } });
    expect(await api(rig, 'DELETE', '/peers/not%20a%20node')).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    // Join-token routes beside them still answer as before.
    expect((await api(rig, 'DELETE', '/peers/tokens/not-an-id')).status).toBe(400);
    expect((await api(rig, 'GET', '/peers/tokens')).status).toBe(200);
  });

  it('POST /peers/revoke-all wants confirmation, then spares the node answering', async () => {
    expect(await api(rig, 'POST', '/peers/revoke-all', {})).toMatchObject({ status: 400, json: { error: { message: expect.stringMatching(/^confirm: must be true/) } } });
    expect(await api(rig, 'POST', '/peers/revoke-all', { confirm: true })).toEqual({ status: 200, json: { revoked: [], failed: [] } });
    const after = (await api(rig, 'GET', '/peers')).json.members as ClusterMemberView[];
    expect(after.map((m) => m.node)).toEqual([rig.orch.nodeId]);
  });

  it('POST /cluster/faults is not a route where fault injection is off', async () => {
    expect(await api(rig, 'POST', '/cluster/faults', { action: 'heal' })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });

  it('kici-admin peer list and cluster status print the members, or their JSON', async () => {
    const node = rig.orch.nodeId;
    const list = await admin(['peer', 'list']);
    expect(list).toMatchObject({ code: 0, err: '' });
    expect(list.out.split('\n')[0]).toMatch(/^NODE\s+ROLE\s+STANDING\s+ADDRESS\s+CONNECTED\s+LEADER\s+SHARDS\s+LAG\s+HELD\s+EXPIRES$/);
    expect(list.out).toMatch(new RegExp(`^${node}\\s+coordinator\\s+voter\\s+.*\\s+yes\\s+\\*`, 'm'));
    const json = JSON.parse((await admin(['peer', 'list', '--json'])).out) as ClusterMemberView[];
    expect(json).toEqual((await api(rig, 'GET', '/peers')).json.members);

    const status = await admin(['cluster', 'status']);
    expect(status).toMatchObject({ code: 0, err: '' });
    expect(status.out).toMatch(new RegExp(`^cluster\\s+${rig.orch.clusterId}$`, 'm'));
    expect(status.out).toMatch(new RegExp(`^this node\\s+${node}$`, 'm'));
    expect(status.out).toMatch(new RegExp(`^leader\\s+${node} \\(`, 'm'));
    expect(status.out).toMatch(/^term\s+\d+$/m);
    expect(status.out).toMatch(/^commit index\s+\d+$/m);
    expect(status.out).toMatch(/^applied index\s+\d+$/m);
    expect(status.out).toMatch(/^ready\s+yes$/m);
    expect(status.out).toMatch(new RegExp(`^${node}\\s+coordinator`, 'm'));
    const statusJson = JSON.parse((await admin(['--json', 'cluster', 'status'])).out) as ClusterStatusView;
    expect(statusJson).toMatchObject({ clusterId: rig.orch.clusterId, nodeId: node });
  });

  it('kici-admin peer revoke and revoke-all say what the orchestrator answered', async () => {
    expect(await admin(['peer', 'revoke', '--instance-id', 'no-such-node'])).toEqual({ code: 1, out: '', err: 'kici-admin: no member no-such-node in the cluster (HTTP 404)\n' });
    const self = await admin(['peer', 'revoke', '--instance-id', rig.orch.nodeId]);
    expect(self).toMatchObject({ code: 1, err: expect.stringMatching(/is the node answering this request.*\(HTTP 409\)\n$/) });
    expect(await admin(['peer', 'revoke-all', '--confirm'])).toEqual({ code: 0, out: 'no other members to revoke\n', err: '' });
    expect(JSON.parse((await admin(['peer', 'revoke-all', '--confirm', '--json'])).out)).toEqual({ revoked: [], failed: [] });
  });
});

describe('cluster faults where fault injection is on', () => {
  let rig: OrchestratorRig;
  const faults = new PeerFaults(new SeededRandom(1));

  beforeAll(async () => {
    rig = await OrchestratorRig.start({}, { faults });
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('POST /cluster/faults cuts and heals through the node’s fault hook', async () => {
    expect(await api(rig, 'POST', '/cluster/faults', { action: 'cut', peer: 'node-b' })).toEqual({ status: 200, json: { ok: true } });
    expect(faults.isPartitioned('node-b')).toBe(true);
    await api(rig, 'POST', '/cluster/faults', { action: 'cut', peer: 'node-c', direction: 'inbound' });
    expect(faults.plan('node-c', 'inbound').delaysMs).toEqual([]);
    expect(faults.plan('node-c', 'outbound').delaysMs).toEqual([0]);

    expect(await api(rig, 'POST', '/cluster/faults', { action: 'heal', peer: 'node-b' })).toEqual({ status: 200, json: { ok: true } });
    expect(faults.isPartitioned('node-b')).toBe(false);
    expect(faults.plan('node-c', 'inbound').delaysMs).toEqual([]);
    await api(rig, 'POST', '/cluster/faults', { action: 'heal' });
    expect(faults.plan('node-c', 'inbound').delaysMs).toEqual([0]);

    expect(await api(rig, 'POST', '/cluster/faults', { action: 'cut' })).toMatchObject({ status: 400, json: { error: { message: 'peer: required: the node to act on' } } });
  });
});
