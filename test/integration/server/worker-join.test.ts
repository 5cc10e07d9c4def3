/**
 * An edge worker joins a real coordinator: an orchestrator in this process on PostgreSQL with its
 * cluster port open, and the worker's own start-up path (`joinedWorker`) against it. The worker is
 * recorded with role and standing `worker` and no address (it is never dialled); it keeps its
 * membership and certificate, and no secrets of the cluster; a restart reads them back without the
 * token. Tokens are bound to their role both ways, and a data directory to the role it joined as.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE } from '../../../src/admin/index.js';
import { CLUSTER_CA_KEY_FILE, loadNodeCredentials, NODE_CERTIFICATE_FILE, NODE_KEY_FILE } from '../../../src/certificates/index.js';
import { JOIN_SECRETS_FILE, joinAsCoordinator, joinCluster, MEMBER_FILE, readMembership } from '../../../src/membership/index.js';
import { freePort } from '../../../cluster/processes.js';
import { clusterDirOf, joinedNode, joinedWorker } from '../../../src/server/cluster-start.js';
import { ConfigError, loadConfig } from '../../../src/server/config.js';
import type { Logger } from '../../../src/server/logger.js';
import { startOrchestrator, type Orchestrator } from '../../../src/server/orchestrator.js';
import { JoinFailedError } from '../../../src/transport/index.js';
import { testPostgres } from '../../support/postgres.js';

/** A log that keeps the messages of its lines (the start-up code logs a fields object and a message). */
function log(): Pick<Logger, 'info' | 'warn'> & { lines: { info: string[]; warn: string[] } } {
  const lines = { info: [] as string[], warn: [] as string[] };
  const keep = (into: string[]) => ((_: object, m: string) => void into.push(m)) as unknown as Logger['info'];
  return { lines, info: keep(lines.info), warn: keep(lines.warn) };
}

let tmp: string;
let coordinator: Orchestrator;
let coordinatorDir: string;
let clusterAddress: string;
let adminToken: string;

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${coordinator.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function token(role: 'worker' | 'coordinator'): Promise<{ id: string; token: string }> {
  const r = await api('POST', '/peers/tokens', { role });
  expect(r.status).toBe(201);
  return { id: r.json.id as string, token: r.json.token as string };
}

async function tokenState(id: string): Promise<{ state: string; usedBy: string | null }> {
  const r = await api('GET', '/peers/tokens');
  const found = (r.json.tokens as { id: string; state: string; usedBy: string | null }[]).find((t) => t.id === id);
  if (!found) throw new Error(`token ${id} not listed: ${JSON.stringify(r.json).slice(0, 300)}`);
  return found;
}

function workerEnv(dataDir: string, extra: Record<string, string> = {}) {
  return loadConfig({ KICI_CLUSTER_ROLE: 'worker', KICI_DATA_DIR: dataDir, KICI_CLUSTER_COORDINATOR_URL: `ws://${clusterAddress}/ws/peer`, KICI_LOG_LEVEL: 'silent', ...extra });
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-worker-join-'));
  coordinatorDir = path.join(tmp, 'coordinator');
  const port = await freePort();
  clusterAddress = `127.0.0.1:${port}`;
  coordinator = await startOrchestrator(
    loadConfig({
      KICI_DATA_DIR: coordinatorDir,
      KICI_PORT: '0',
      KICI_HOST: '127.0.0.1',
      KICI_LOG_LEVEL: 'silent',
      KICI_DATABASE_URL: await (await testPostgres()).createDatabase(),
      KICI_STORAGE_TYPE: 'database',
      KICI_CLUSTER_PORT: String(port),
      KICI_CLUSTER_ADDRESS: clusterAddress,
    }),
  );
  adminToken = readFileSync(path.join(coordinatorDir, ADMIN_TOKEN_FILE), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await coordinator?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('an edge worker joins a coordinator', () => {
  it('is recorded as a worker with no address, keeps its membership and certificate and no secrets, and restarts without the token', async () => {
    const dataDir = path.join(tmp, 'edge-1');
    const issued = await token('worker');
    const first = log();
    const joined = await joinedWorker(workerEnv(dataDir, { KICI_CLUSTER_JOIN_TOKEN: issued.token }), 'edge-1', first);

    // What the worker was told.
    expect(joined.membership).toMatchObject({ clusterId: coordinator.clusterId, nodeId: 'edge-1', founder: false });
    expect(joined.membership.raftId).toBeGreaterThan(1);
    expect(joined.membership.members).toEqual(
      expect.arrayContaining([
        { node: coordinator.nodeId, raftId: 1, address: clusterAddress },
        { node: 'edge-1', raftId: joined.membership.raftId, address: '' },
      ]),
    );
    expect(joined.credentials.identity).toMatchObject({ clusterId: coordinator.clusterId, nodeId: 'edge-1', role: 'worker' });
    expect(first.lines.info).toEqual(['joining the cluster as a worker', 'joined the cluster as a worker']);

    // What the cluster recorded.
    const peers = await api('GET', '/peers');
    const members = peers.json.members as { node: string; role: string; standing: string; address: string }[];
    expect(members.find((m) => m.node === 'edge-1')).toMatchObject({ role: 'worker', standing: 'worker', address: '' });
    expect(members.find((m) => m.node === coordinator.nodeId)).toMatchObject({ role: 'coordinator', standing: 'voter', address: clusterAddress });
    expect(await tokenState(issued.id)).toMatchObject({ state: 'used', usedBy: 'edge-1' });

    // What the worker keeps: its membership and certificate, the CA certificate, nothing shared.
    const dir = clusterDirOf(dataDir);
    for (const file of [MEMBER_FILE, NODE_CERTIFICATE_FILE, NODE_KEY_FILE]) expect(existsSync(path.join(dir, file)), file).toBe(true);
    expect(existsSync(path.join(dir, JOIN_SECRETS_FILE))).toBe(false);
    expect(existsSync(path.join(dir, CLUSTER_CA_KEY_FILE))).toBe(false);
    expect(readMembership(dir)).toEqual(joined.membership);
    expect(loadNodeCredentials(dir)?.identity.serial).toBe(joined.credentials.identity.serial);

    // A restart reads them back, without the token and without asking the cluster.
    const again = log();
    const restarted = await joinedWorker(workerEnv(dataDir), 'edge-1', again);
    expect(restarted.membership).toEqual(joined.membership);
    expect(restarted.credentials.identity.serial).toBe(joined.credentials.identity.serial);
    expect(again.lines).toEqual({ info: [], warn: [] });
    // The token left in the environment is not used again, and the worker says so.
    const stale = log();
    await joinedWorker(workerEnv(dataDir, { KICI_CLUSTER_JOIN_TOKEN: issued.token }), 'edge-1', stale);
    expect(stale.lines.warn).toEqual([expect.stringMatching(/^KICI_CLUSTER_JOIN_TOKEN is not used/)]);
  });

  it('a worker token cannot join as a coordinator, and is not spent by trying', async () => {
    const issued = await token('worker');
    const dir = clusterDirOf(path.join(tmp, 'would-be-coordinator'));
    const e = await refusal(joinAsCoordinator({ clusterDir: dir, nodeId: 'node-x', token: issued.token, peers: [clusterAddress], address: '127.0.0.1:1', deadlineMs: 5_000 }));
    expect(e).toBeInstanceOf(JoinFailedError);
    expect(e.message).toContain('the join token is for a worker, not a coordinator');
    expect(readMembership(dir)).toBeUndefined();
    expect(await tokenState(issued.id)).toMatchObject({ state: 'active' });
    // The same token still admits the worker it was made for.
    const joined = await joinCluster({ role: 'worker', clusterDir: clusterDirOf(path.join(tmp, 'edge-2')), nodeId: 'edge-2', token: issued.token, peers: [clusterAddress], deadlineMs: 5_000 });
    expect(joined.nodeId).toBe('edge-2');
  });

  it('a coordinator token cannot join as a worker, and is not spent by trying', async () => {
    const issued = await token('coordinator');
    const dataDir = path.join(tmp, 'would-be-worker');
    const e = await refusal(joinedWorker(workerEnv(dataDir, { KICI_CLUSTER_JOIN_TOKEN: issued.token }), 'edge-x', log()));
    expect(e).toBeInstanceOf(JoinFailedError);
    expect(e.message).toContain('the join token is for a coordinator, not a worker');
    expect(readMembership(clusterDirOf(dataDir))).toBeUndefined();
    expect(await tokenState(issued.id)).toMatchObject({ state: 'active' });
    const members = (await api('GET', '/peers')).json.members as { node: string }[];
    expect(members.map((m) => m.node)).not.toContain('edge-x');
  });

  it('a worker cannot join twice under one node id', async () => {
    const issued = await token('worker');
    const e = await refusal(joinCluster({ role: 'worker', clusterDir: clusterDirOf(path.join(tmp, 'edge-1-again')), nodeId: 'edge-1', token: issued.token, peers: [clusterAddress], deadlineMs: 5_000 }));
    expect(e.message).toContain('node edge-1 is a member already');
  });
});

describe('a data directory keeps the role it joined as', () => {
  it('a worker\'s data directory refuses to start as a coordinator', async () => {
    const dataDir = path.join(tmp, 'edge-3');
    await joinedWorker(workerEnv(dataDir, { KICI_CLUSTER_JOIN_TOKEN: (await token('worker')).token }), 'edge-3', log());
    const e = await refusal(joinedNode(loadConfig({ KICI_DATA_DIR: dataDir, KICI_STORAGE_TYPE: 'database' }), 'edge-3', log()));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/KICI_CLUSTER_ROLE: this data directory \(.*edge-3\) belongs to worker edge-3 \(its node certificate says role worker\); start it with KICI_CLUSTER_ROLE=worker/);
  });

  it('the coordinator\'s data directory refuses to start as a worker', async () => {
    const e = await refusal(joinedWorker(workerEnv(coordinatorDir), coordinator.nodeId, log()));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(`belongs to the coordinator that made cluster ${coordinator.clusterId}`);
  });

  it('a joined coordinator\'s data directory refuses to start as a worker', async () => {
    // Made by hand: a joined coordinator's membership and certificate (no cluster port needed).
    const dataDir = path.join(tmp, 'coordinator-2');
    await joinAsCoordinator({ clusterDir: clusterDirOf(dataDir), nodeId: 'node-2', token: (await token('coordinator')).token, peers: [clusterAddress], address: '127.0.0.1:2', deadlineMs: 5_000 });
    const e = await refusal(joinedWorker(workerEnv(dataDir), 'node-2', log()));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/KICI_CLUSTER_ROLE=worker: this data directory \(.*coordinator-2\) belongs to coordinator node-2 \(its node certificate says role coordinator\)/);
  });

  it('a worker that has not joined and has no token is told how to get one', async () => {
    const e = await refusal(joinedWorker(workerEnv(path.join(tmp, 'edge-new')), 'edge-new', log()));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('set KICI_CLUSTER_JOIN_TOKEN (kici-admin peer create-token --role worker)');
  });

  it('a worker\'s data directory belongs to its node id', async () => {
    const e = await refusal(joinedWorker(workerEnv(path.join(tmp, 'edge-3')), 'edge-4', log()));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('this data directory belongs to node edge-3, not edge-4');
  });
});
