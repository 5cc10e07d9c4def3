import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClusterCaCertificate } from '../../../src/certificates/index.js';
import { loadConfig, startOrchestrator } from '../../../src/server/index.js';
import { testPostgres } from '../../support/postgres.js';

/**
 * The cluster identity a real orchestrator makes and checks at start: the CA in the data
 * directory, the cluster id in the database (PostgreSQL here, where the two can be paired
 * differently; and PGlite, which lives inside the data directory).
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'kici-cluster-it-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const dir = (name: string) => path.join(tmp, name);

async function start(dataDir: string, databaseUrl?: string) {
  const env: Record<string, string> = { KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' };
  if (databaseUrl) env.KICI_DATABASE_URL = databaseUrl;
  return startOrchestrator(loadConfig(env));
}

/** Start, note the cluster, stop. */
async function clusterOf(dataDir: string, databaseUrl?: string): Promise<string> {
  const orch = await start(dataDir, databaseUrl);
  try {
    const recorded = await orch.store.cluster.identity();
    expect(recorded?.clusterId).toBe(orch.clusterId);
    expect(loadClusterCaCertificate(path.join(dataDir, 'cluster'))?.fingerprint).toBe(recorded?.caFingerprint);
    return orch.clusterId;
  } finally {
    await orch.stop();
  }
}

describe('cluster identity on PostgreSQL', () => {
  it('is made on the first start and found again on the next', async () => {
    const db = await (await testPostgres()).createDatabase();
    const made = await clusterOf(dir('keep'), db);
    expect(made).toMatch(/^cluster-[0-9a-f]{12}$/);
    expect(await clusterOf(dir('keep'), db)).toBe(made);
  });

  it('refuses a data directory and a database of different clusters, naming both', async () => {
    const pg = await testPostgres();
    const [db1, db2] = [await pg.createDatabase(), await pg.createDatabase()];
    const x = await clusterOf(dir('x'), db1);
    const y = await clusterOf(dir('y'), db2);
    await expect(start(dir('x'), db2)).rejects.toThrow(`this data directory belongs to cluster ${x} but the database to ${y}`);
    // Refused before anything else ran: the right pairs still start.
    expect(await clusterOf(dir('x'), db1)).toBe(x);
  });

  it('refuses a new data directory on a database that belongs to a cluster, and makes no CA there', async () => {
    const db = await (await testPostgres()).createDatabase();
    const x = await clusterOf(dir('first'), db);
    await expect(start(dir('second'), db)).rejects.toThrow(`the database belongs to cluster ${x}, but this data directory (${dir('second')}) holds no cluster CA`);
    expect(existsSync(path.join(dir('second'), 'cluster'))).toBe(false);
  });

  it('records the data directory’s cluster in a database that has none', async () => {
    const pg = await testPostgres();
    const x = await clusterOf(dir('moving'), await pg.createDatabase());
    expect(await clusterOf(dir('moving'), await pg.createDatabase())).toBe(x);
  });
});

describe('cluster identity on PGlite', () => {
  it('is made once and kept across restarts', async () => {
    const made = await clusterOf(dir('pglite'));
    expect(await clusterOf(dir('pglite'))).toBe(made);
  });
});
