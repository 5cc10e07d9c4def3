import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClusterCa, loadClusterCa, saveClusterCa } from '../../../src/certificates/index.js';
// Imported from the file itself so this test does not load the whole composition root.
import { CLUSTER_DIR, ClusterIdentityMismatch, ensureClusterIdentity } from '../../../src/server/cluster-identity.js';
import type { ClusterIdentityRecord, ClusterRepository, NewClusterIdentity } from '../../../src/store/index.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-cluster-id-'));
  dirs.push(dir);
  return dir;
}

/** The two calls the start-up check makes, over one row in memory; `rival` is recorded by "another node" first. */
function database(rival?: NewClusterIdentity) {
  let row: ClusterIdentityRecord | null = null;
  const repository = {
    identity: async () => row,
    recordIdentity: async (identity: NewClusterIdentity, now: Date) => {
      if (rival && !row) row = { ...rival, createdAt: now };
      row ??= { ...identity, createdAt: now };
      return row;
    },
  };
  return { cluster: repository as unknown as ClusterRepository, row: () => row };
}

function start(dir: string, cluster: ClusterRepository, nodeId = 'node-1') {
  const logged: unknown[][] = [];
  const log = { info: (...args: unknown[]) => void logged.push(args) };
  return { run: () => ensureClusterIdentity({ dataDir: dir, cluster, nodeId, now: NOW, log: log as never }), logged };
}

describe('the cluster identity at start', () => {
  it('the first start makes the cluster: its CA in the data directory, its id and CA certificate in the database', async () => {
    const dir = dataDir();
    const db = database();
    const first = start(dir, db.cluster);
    const identity = await first.run();
    expect(identity.created).toBe(true);
    expect(identity.clusterId).toMatch(/^cluster-[0-9a-f]{12}$/);

    const ca = loadClusterCa(path.join(dir, CLUSTER_DIR))!;
    expect(ca.clusterId).toBe(identity.clusterId);
    expect(ca.fingerprint).toBe(identity.caFingerprint);
    expect(statSync(path.join(dir, CLUSTER_DIR, 'cluster-ca.key')).mode & 0o777).toBe(0o600);
    expect(db.row()).toMatchObject({ clusterId: identity.clusterId, caFingerprint: ca.fingerprint, caCertificatePem: ca.certificatePem, createdBy: 'node-1' });

    // The private key is nowhere but its file: not in the database, not in the log.
    const keyPem = readFileSync(path.join(dir, CLUSTER_DIR, 'cluster-ca.key'), 'utf8');
    const keyBody = keyPem.split('\n')[1]!;
    expect(JSON.stringify(db.row())).not.toContain(keyBody);
    expect(JSON.stringify(first.logged)).not.toContain(keyBody);
    expect(first.logged).toEqual([[{ clusterId: identity.clusterId, caFingerprint: ca.fingerprint }, expect.stringContaining('cluster created')]]);
  });

  it('later starts find the same cluster and make nothing', async () => {
    const dir = dataDir();
    const db = database();
    const made = await start(dir, db.cluster).run();
    const files = readdirSync(path.join(dir, CLUSTER_DIR)).sort();
    const again = start(dir, db.cluster);
    expect(await again.run()).toEqual({ ...made, created: false });
    expect(again.logged).toEqual([]);
    expect(readdirSync(path.join(dir, CLUSTER_DIR)).sort()).toEqual(files);
  });

  it('refuses a data directory of one cluster with a database of another, naming both', async () => {
    const a = dataDir();
    const b = dataDir();
    const dbA = database();
    const dbB = database();
    const clusterA = (await start(a, dbA.cluster).run()).clusterId;
    const clusterB = (await start(b, dbB.cluster).run()).clusterId;
    const refusal = start(a, dbB.cluster).run();
    await expect(refusal).rejects.toBeInstanceOf(ClusterIdentityMismatch);
    await expect(start(a, dbB.cluster).run()).rejects.toThrow(`this data directory belongs to cluster ${clusterA} but the database to ${clusterB}`);
  });

  it('refuses a CA other than the one the database records, even under the same cluster id', async () => {
    const dir = dataDir();
    const db = database();
    const { clusterId } = await start(dir, db.cluster).run();
    const impostor = dataDir();
    saveClusterCa(path.join(impostor, CLUSTER_DIR), await createClusterCa({ clusterId, now: NOW }));
    await expect(start(impostor, db.cluster).run()).rejects.toThrow(/both name cluster .* but with different CAs/);
  });

  it('refuses a database of a cluster when the data directory holds no CA, and writes nothing there', async () => {
    const db = database();
    const { clusterId } = await start(dataDir(), db.cluster).run();
    const fresh = dataDir();
    await expect(start(fresh, db.cluster, 'node-2').run()).rejects.toThrow(`the database belongs to cluster ${clusterId}, but this data directory (${fresh}) holds no cluster CA`);
    expect(existsSync(path.join(fresh, CLUSTER_DIR))).toBe(false);
  });

  it('records the data directory’s cluster in a database that has none (a crash after the files, or a new database)', async () => {
    const dir = dataDir();
    const { clusterId, caFingerprint } = await start(dir, database().cluster).run();
    const empty = database();
    const adopted = start(dir, empty.cluster);
    expect(await adopted.run()).toEqual({ clusterId, caFingerprint, created: false });
    expect(empty.row()).toMatchObject({ clusterId, caFingerprint });
    expect(adopted.logged).toEqual([[{ clusterId, caFingerprint }, expect.stringContaining('recorded')]]);
  });

  it('a node that loses the race to make the cluster keeps no CA of its own', async () => {
    const rival = { clusterId: 'cluster-rival', caFingerprint: `sha256:${'0'.repeat(64)}`, caCertificatePem: 'PEM', createdBy: 'node-0' };
    const dir = dataDir();
    await expect(start(dir, database(rival).cluster).run()).rejects.toThrow(/the database belongs to cluster cluster-rival, made by node node-0/);
    expect(readdirSync(path.join(dir, CLUSTER_DIR))).toEqual([]);
  });
});
