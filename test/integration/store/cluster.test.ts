import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createJoinToken, parseJoinToken } from '../../../src/certificates/index.js';
import { joinTokenState, NodeRevokedError, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;
const FINGERPRINT = `sha256:${'ab'.repeat(32)}` as const;

/** A token issued as the admin API issues one, and the record the store keeps of it. */
async function issue(store: Store, options: { role?: 'coordinator' | 'worker'; expiresAt?: Date } = {}) {
  const issued = createJoinToken({ caFingerprint: FINGERPRINT, role: options.role ?? 'worker', expiresAt: options.expiresAt ?? at(HOUR) });
  const record = await store.cluster.insertJoinToken(
    { id: issued.id, secretHash: issued.secretHash, role: issued.role, caFingerprint: issued.caFingerprint, expiresAt: issued.expiresAt },
    T0,
  );
  const secret = issued.token.split('.')[3]!;
  return { issued, record, secret };
}

const nodeId = () => `node-${randomBytes(4).toString('hex')}`;
const serial = () => `${randomBytes(8).toString('hex').replace(/^0+/, '')}1`;

describeOnBothDrivers('cluster identity', (store) => {
  it('is recorded once: a second cluster cannot take the database', async () => {
    expect(await store().cluster.identity()).toBeNull();
    const first = { clusterId: 'cluster-one', caFingerprint: FINGERPRINT, caCertificatePem: 'PEM-1', createdBy: 'node-a' };
    expect(await store().cluster.recordIdentity(first, T0)).toEqual({ ...first, createdAt: T0 });
    const second = { clusterId: 'cluster-two', caFingerprint: `sha256:${'cd'.repeat(32)}`, caCertificatePem: 'PEM-2', createdBy: 'node-b' };
    expect(await store().cluster.recordIdentity(second, at(1))).toEqual({ ...first, createdAt: T0 });
    expect(await store().cluster.identity()).toEqual({ ...first, createdAt: T0 });
  });
});

describeOnBothDrivers('join tokens', (store) => {
  it('keeps only the hash of the secret, and no record shows even that', async () => {
    const { issued, record, secret } = await issue(store(), { role: 'coordinator' });
    expect(record).toEqual({
      id: issued.id,
      role: 'coordinator',
      caFingerprint: FINGERPRINT,
      createdAt: T0,
      expiresAt: at(HOUR),
      usedAt: null,
      usedBy: null,
      revokedAt: null,
    });
    const row = await queryBuilderOf(store()).selectFrom('join_tokens').selectAll().where('id', '=', issued.id).executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(createHash('sha256').update(Buffer.from(secret, 'base64url')).digest('hex'));
    const shown = JSON.stringify([record, await store().cluster.getJoinToken(issued.id), await store().cluster.listJoinTokens()]);
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain(issued.secretHash);
    expect(shown).not.toContain(issued.token);
  });

  it('is spent once, by the right secret, before it expires', async () => {
    const { issued } = await issue(store());
    expect(await store().cluster.consumeJoinToken(issued.id, 'f'.repeat(64), at(1))).toEqual({ ok: false, reason: 'wrong_secret' });
    expect(await store().cluster.consumeJoinToken('0123456789abcdef', issued.secretHash, at(1))).toEqual({ ok: false, reason: 'unknown' });
    const spent = await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(2), { nodeId: 'node-new' });
    expect(spent).toEqual({ ok: true, token: expect.objectContaining({ id: issued.id, usedAt: at(2), usedBy: 'node-new' }) });
    expect(await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(3))).toEqual({ ok: false, reason: 'used' });
    const after = (await store().cluster.getJoinToken(issued.id))!;
    expect(joinTokenState(after, at(3))).toBe('used');
    expect(after.usedBy).toBe('node-new');
  });

  it('takes the parsed token itself as proof, so the secret never leaves it', async () => {
    const { issued } = await issue(store());
    const token = parseJoinToken(issued.token);
    const other = parseJoinToken((await issue(store())).issued.token);
    expect(await store().cluster.consumeJoinToken(issued.id, (hash) => other.matchesSecretHash(hash), at(1))).toEqual({ ok: false, reason: 'wrong_secret' });
    expect((await store().cluster.consumeJoinToken(token.id, (hash) => token.matchesSecretHash(hash), at(1))).ok).toBe(true);
  });

  it('is refused from its expiry on', async () => {
    const { issued } = await issue(store(), { expiresAt: at(HOUR) });
    expect(joinTokenState((await store().cluster.getJoinToken(issued.id))!, at(HOUR))).toBe('expired');
    expect(await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(HOUR))).toEqual({ ok: false, reason: 'expired' });
    expect(await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(HOUR + 1))).toEqual({ ok: false, reason: 'expired' });
    expect((await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(HOUR - 1))).ok).toBe(true);
  });

  it('goes to exactly one of several joiners racing with it', async () => {
    const { issued } = await issue(store());
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(1), { nodeId: `racer-${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(Array(7).fill('used'));
  });

  it('can be withdrawn while unused, not once spent', async () => {
    const unused = await issue(store());
    const revoked = await store().cluster.revokeJoinToken(unused.issued.id, at(1));
    expect(revoked).toEqual({ outcome: 'revoked', token: expect.objectContaining({ id: unused.issued.id, revokedAt: at(1) }) });
    expect(await store().cluster.revokeJoinToken(unused.issued.id, at(2))).toEqual({ outcome: 'already_revoked', token: expect.objectContaining({ revokedAt: at(1) }) });
    expect(await store().cluster.consumeJoinToken(unused.issued.id, unused.issued.secretHash, at(3))).toEqual({ ok: false, reason: 'revoked' });

    const spent = await issue(store());
    await store().cluster.consumeJoinToken(spent.issued.id, spent.issued.secretHash, at(1), { nodeId: 'node-x' });
    expect(await store().cluster.revokeJoinToken(spent.issued.id, at(2))).toEqual({ outcome: 'used', token: expect.objectContaining({ usedBy: 'node-x', revokedAt: null }) });
    expect(await store().cluster.revokeJoinToken('fedcba9876543210', at(2))).toEqual({ outcome: 'not_found' });
  });

  it('lets no revoked node back in, with any token, and leaves the token unspent', async () => {
    const node = nodeId();
    await store().cluster.revokeNode(node, at(1), 'decommissioned');
    const { issued } = await issue(store());
    expect(await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(2), { nodeId: node })).toEqual({ ok: false, reason: 'node_revoked' });
    expect(joinTokenState((await store().cluster.getJoinToken(issued.id))!, at(2))).toBe('active');
    expect((await store().cluster.consumeJoinToken(issued.id, issued.secretHash, at(3), { nodeId: nodeId() })).ok).toBe(true);
  });

  it('refuses malformed rows at the database too', async () => {
    const db = queryBuilderOf(store());
    const row = { id: randomBytes(8).toString('hex'), secret_hash: 'a'.repeat(64), role: 'worker' as const, ca_fingerprint: FINGERPRINT, expires_at: at(HOUR) };
    await expect(db.insertInto('join_tokens').values({ ...row, role: 'admin' as never }).execute()).rejects.toThrow();
    await expect(db.insertInto('join_tokens').values({ ...row, secret_hash: 'not-a-hash' }).execute()).rejects.toThrow();
    await expect(store().cluster.insertJoinToken({ id: row.id, secretHash: 'A'.repeat(64), role: 'worker', caFingerprint: FINGERPRINT, expiresAt: at(HOUR) }, T0)).rejects.toThrow(TypeError);
    await expect(sql`insert into cluster_identity (singleton, cluster_id, ca_fingerprint, ca_certificate, created_by) values (false, 'x', ${FINGERPRINT}, 'p', 'n')`.execute(db)).rejects.toThrow();
  });
});

describeOnBothDrivers('node certificates and revocation', (store) => {
  it('revoking a node revokes every certificate it was issued and bars its id', async () => {
    const node = nodeId();
    const [a, b, other] = [serial(), serial(), serial()];
    const token = (await issue(store())).issued.id;
    expect(await store().cluster.recordNodeCertificate({ serial: a, nodeId: node, role: 'coordinator', notAfter: at(HOUR), joinTokenId: token }, T0)).toEqual({
      serial: a,
      nodeId: node,
      role: 'coordinator',
      joinTokenId: token,
      issuedAt: T0,
      notAfter: at(HOUR),
      revokedAt: null,
    });
    await store().cluster.recordNodeCertificate({ serial: b, nodeId: node, role: 'coordinator', notAfter: at(2 * HOUR) }, at(1));
    await store().cluster.recordNodeCertificate({ serial: other, nodeId: nodeId(), role: 'worker', notAfter: at(HOUR) }, at(1));
    expect(await store().cluster.isNodeRevoked(node)).toBe(false);
    expect(await store().cluster.revokedSerials()).not.toContain(a);

    expect(await store().cluster.revokeNode(node, at(5), 'lost laptop')).toEqual({ nodeId: node, newlyRevoked: true, serials: [a, b].sort() });
    expect(await store().cluster.revokeNode(node, at(6))).toEqual({ nodeId: node, newlyRevoked: false, serials: [a, b].sort() });
    expect(await store().cluster.isNodeRevoked(node)).toBe(true);
    const revoked = await store().cluster.revokedSerials();
    expect(revoked).toEqual(expect.arrayContaining([a, b]));
    expect(revoked).not.toContain(other);
    expect((await store().cluster.listNodeCertificates({ nodeId: node })).map((c) => c.revokedAt)).toEqual([at(5), at(5)]);
    await expect(store().cluster.recordNodeCertificate({ serial: serial(), nodeId: node, role: 'worker', notAfter: at(HOUR) }, at(7))).rejects.toBeInstanceOf(NodeRevokedError);
  });

  it('lists a certificate of a revoked node as revoked even if it was recorded while the node was being revoked', async () => {
    const node = nodeId();
    await store().cluster.revokeNode(node, at(1));
    const late = serial();
    // What a recording that raced the revocation would leave: the row with no revoked_at of its own.
    await queryBuilderOf(store())
      .insertInto('node_certificates')
      .values({ serial: late, node_id: node, role: 'worker', issued_at: at(2), not_after: at(HOUR) })
      .execute();
    expect(await store().cluster.revokedSerials()).toContain(late);
  });
});
