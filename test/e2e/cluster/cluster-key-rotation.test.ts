/**
 * The master key reaching every coordinator (issue 19), with real processes, TLS on loopback and
 * PostgreSQL: a cluster of three made on key K1; only the founder is restarted with K2 as
 * KICI_SECRET_KEY and K1 as KICI_SECRET_KEY_OLD; `rotate-key` there hands both keys to the two
 * joined nodes before re-sealing, finishes, and tells them to drop K1. The joined nodes, never
 * restarted, accept webhooks whose secrets are sealed with K2 (one re-sealed, one set after the
 * rotation); a joined node restarted with no key in its environment starts on K2 from its handover,
 * which no longer holds K1.
 */
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNodeCredentials } from '../../../src/certificates/index.js';
import { openJoinSecrets } from '../../../src/membership/index.js';
import type { RotationReport } from '../../../src/secrets/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, ClusterMember, clusterRoot, ensureBuilt, killAll, waitUntil } from '../harness/index.js';

const K1 = randomBytes(32).toString('hex');
const K2 = randomBytes(32).toString('hex');
const NAMES = ['node-a', 'node-b', 'node-c'];

describe('a master-key rotation across a cluster', () => {
  const root = clusterRoot();
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;

  beforeAll(async () => {
    ensureBuilt();
    const databaseUrl = await freshDatabaseUrl();
    a = await ClusterMember.create(root, { name: 'node-a', databaseUrl, env: { KICI_SECRET_KEY: K1 } });
    await a.process.start();
    // The joiners are configured with no key: they hold the one their join handed over.
    b = await ClusterMember.create(root, { name: 'node-b', join: { token: await a.joinToken(), peers: [a.address] }, adminToken: a.process.adminToken });
    c = await ClusterMember.create(root, { name: 'node-c', join: { token: await a.joinToken(), peers: [a.address] }, adminToken: a.process.adminToken });
    await Promise.all([b.process.start(), c.process.start()]);
    await agreedLeader([a, b, c], NAMES);
  }, 120_000);

  afterAll(async () => {
    await killAll();
  });

  const source = async (name: string, secret: string) => ({ id: (await a.process.api<{ id: string }>('POST', '/sources', { kind: 'generic', orgId: 'e2e', name, verification: 'hmac_sha256', secret })).id, secret });
  const post = async (m: ClusterMember, s: { id: string; secret: string }, n: number) => {
    const body = JSON.stringify({ n });
    const res = await fetch(`${m.url}/webhook/e2e/generic/${s.id}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-delivery-id': `${s.id}-${m.name}-${n}`, 'x-signature-256': `sha256=${createHmac('sha256', s.secret).update(body).digest('hex')}` },
    });
    return res.status;
  };
  const handover = (m: ClusterMember) => {
    const dir = path.join(m.dataDir, 'cluster');
    return openJoinSecrets(dir, loadNodeCredentials(dir)!);
  };

  it('hands the new key to the nodes it was not given to, re-seals, and drops the old one everywhere', async () => {
    const before = await source('before', 'sealed-with-k1-then-resealed');
    await a.process.stop();
    Object.assign(a.process.options.env!, { KICI_SECRET_KEY: K2, KICI_SECRET_KEY_OLD: K1 });
    await a.process.start();
    await agreedLeader([a, b, c], NAMES);
    // Every link of the node that rotates is up: a coordinator not linked would not be handed the key.
    await waitUntil('node-a linked to node-b and node-c', async () => ((await a.health()).members.filter((m) => m.node !== 'node-a' && m.connected).length === 2 ? true : undefined), { timeoutMs: 30_000 });

    const report = await a.process.api<RotationReport>('POST', '/admin/rotate-key', {});
    expect(report).toMatchObject({ complete: true, left: 0, oldKeyDropped: 3 });
    expect(JSON.stringify(report).includes(K1) || JSON.stringify(report).includes(K2)).toBe(false);

    const after = await source('after', 'sealed-with-k2');
    for (const m of [b, c]) {
      // Never restarted: the secret re-sealed with K2, and one sealed with K2 after, open there.
      expect(await post(m, before, 1)).toBe(202);
      expect(await post(m, after, 1)).toBe(202);
      // Compared, never printed: a failing match would quote the handover (keys, the CA key).
      expect(handover(m)?.secretKey === K2).toBe(true);
      expect(handover(m)?.oldSecretKey === undefined).toBe(true);
    }
  }, 120_000);

  it('a joined node restarted with no key in its environment starts on the key it was handed', async () => {
    await b.process.stop();
    await b.process.start();
    await agreedLeader([a, b, c], NAMES);
    const after = await source('after-restart', 'sealed-with-k2-again');
    expect(await post(b, after, 2)).toBe(202);
    expect(b.process.tail(400).includes(K1) || b.process.tail(400).includes(K2)).toBe(false);
  }, 120_000);
});
