import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { issueAdminToken, issueAgentToken, type MasterKey, open, seal } from '../../../src/secrets/index.js';
import { SHARD_COUNT } from '../../../src/actors/index.js';
import { AdminTokenRevokedError, SYSTEM_ACTOR } from '../../../src/store/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

describeOnBothDrivers('sources', (store) => {
  it('creates a source with a readable id and reads it back', async () => {
    const orgId = uniqueOrg();
    const source = await store().sources.create({
      orgId,
      kind: 'git',
      name: 'app',
      url: 'file:///tmp/repo.git',
      defaultBranch: 'main',
      verification: 'hmac_sha256',
      config: { allowedEvents: ['push'], rateLimitRpm: 600 },
    });
    expect(source.id).toMatch(/^src_[a-z2-9]{12}$/);
    expect(source.enabled).toBe(true);
    expect(await store().sources.get(source.id)).toEqual(source);
    expect(await store().sources.get(source.id, orgId)).toEqual(source);
    expect(await store().sources.get(source.id, 'another-org')).toBeNull();
    expect(await store().sources.findByName(orgId, 'app')).toEqual(source);
    expect((await store().sources.get(source.id))?.config).toEqual({ allowedEvents: ['push'], rateLimitRpm: 600 });
  });

  it('keeps names unique per org among live sources, reusable after soft delete', async () => {
    const orgId = uniqueOrg();
    const first = await store().sources.create({ orgId, kind: 'generic', name: 'hook', verification: 'none' });
    await expect(store().sources.create({ orgId, kind: 'generic', name: 'hook', verification: 'none' })).rejects.toThrow();
    await store().sources.create({ orgId: uniqueOrg(), kind: 'generic', name: 'hook', verification: 'none' });

    expect(await store().sources.delete(first.id, T0)).toBe(true);
    expect(await store().sources.delete(first.id, T0)).toBe(false);
    expect(await store().sources.get(first.id)).toBeNull();
    const second = await store().sources.create({ orgId, kind: 'generic', name: 'hook', verification: 'none' });
    expect((await store().sources.list({ orgId })).map((s) => s.id)).toEqual([second.id]);
  });

  it('updates selected fields only', async () => {
    const orgId = uniqueOrg();
    const source = await store().sources.create({ orgId, kind: 'generic', name: 'g', verification: 'hmac_sha256' });
    const updated = await store().sources.update(source.id, { enabled: false, config: { eventTypeHeader: 'X-Ev' } }, later(5));
    expect(updated).toMatchObject({ enabled: false, config: { eventTypeHeader: 'X-Ev' }, name: 'g' });
    expect(updated?.updatedAt).toEqual(later(5));
    expect(await store().sources.update('src_missing', { enabled: true }, T0)).toBeNull();
    expect(await store().sources.list({ orgId, kind: 'git' })).toEqual([]);
  });
});

describeOnBothDrivers('sealed secrets', (store) => {
  const key: MasterKey = { bytes: randomBytes(32), version: 1 };

  it('stores only ciphertext and opens it at the same location', async () => {
    const orgId = uniqueOrg();
    const at = { orgId, scope: 'source/src_x', key: 'webhookSecret' };
    const sealed = seal(key, { orgId, scope: at.scope, name: at.key }, 's3cr3t-value');
    await store().sealedSecrets.put(at, sealed, T0);
    const loaded = await store().sealedSecrets.get(at);
    expect(loaded).not.toBeNull();
    expect(Buffer.isBuffer(loaded!.ciphertext)).toBe(true);
    expect(loaded!.ciphertext.toString('utf8')).not.toContain('s3cr3t');
    expect(open(key, { orgId, scope: at.scope, name: at.key }, loaded!)).toBe('s3cr3t-value');
    // The same bytes under another name do not open.
    expect(() => open(key, { orgId, scope: at.scope, name: 'token' }, loaded!)).toThrow();
  });

  it('replaces on put, lists names, deletes one or a whole scope', async () => {
    const orgId = uniqueOrg();
    const scope = 'source/src_y';
    const put = (k: string, v: string) =>
      store().sealedSecrets.put({ orgId, scope, key: k }, seal({ ...key, version: 2 }, { orgId, scope, name: k }, v), T0);
    await put('token', 'one');
    await put('token', 'two');
    await put('webhookSecret', 'three');
    const token = await store().sealedSecrets.get({ orgId, scope, key: 'token' });
    expect(token?.keyVersion).toBe(2);
    expect(open(key, { orgId, scope, name: 'token' }, token!)).toBe('two');
    expect(await store().sealedSecrets.listKeys(orgId, scope)).toEqual(['token', 'webhookSecret']);
    expect(await store().sealedSecrets.delete({ orgId, scope, key: 'token' })).toBe(true);
    expect(await store().sealedSecrets.delete({ orgId, scope, key: 'token' })).toBe(false);
    expect(await store().sealedSecrets.deleteScope(orgId, scope)).toBe(1);
    expect(await store().sealedSecrets.listKeys(orgId, scope)).toEqual([]);
  });
});

describeOnBothDrivers('admin tokens', (store) => {
  it('finds live tokens by hash and stops after revocation', async () => {
    const issued = issueAdminToken();
    const name = `ops-${uniqueOrg()}`;
    const record = await store().adminTokens.create({ name, tokenHash: issued.hash, prefix: issued.prefix }, SYSTEM_ACTOR, T0);
    expect(record).toEqual({ id: expect.stringMatching(/^adm_[0-9a-f]{16}$/), name, prefix: issued.prefix, role: 'admin', createdAt: T0, revokedAt: null });
    expect(JSON.stringify(record)).not.toContain(issued.token);
    expect((await store().adminTokens.findActive(issued.hash))?.id).toBe(record.id);
    expect((await store().adminTokens.list()).map((t) => t.id)).toContain(record.id);
    // Another live token, so this one is not the last.
    const other = issueAdminToken();
    await store().adminTokens.create({ name: `${name}-other`, tokenHash: other.hash, prefix: other.prefix }, SYSTEM_ACTOR, T0);
    expect(await store().adminTokens.revoke(record.id, SYSTEM_ACTOR, later(1))).toMatchObject({ id: record.id, revokedAt: later(1) });
    await expect(store().adminTokens.revoke(record.id, SYSTEM_ACTOR, later(2))).rejects.toBeInstanceOf(AdminTokenRevokedError);
    expect(await store().adminTokens.findActive(issued.hash)).toBeNull();
  });
});

describeOnBothDrivers('agent tokens and agents', (store) => {
  it('validates unexpired, unrevoked tokens only', async () => {
    const a = issueAgentToken();
    const b = issueAgentToken();
    const idA = `tok_${uniqueOrg()}`;
    const idB = `tok_${uniqueOrg()}`;
    await store().agents.insertToken({ id: idA, name: 'ci', tokenHash: a.hash, prefix: a.prefix, labels: ['linux', 'gpu'] }, T0);
    await store().agents.insertToken({ id: idB, name: 'tmp', tokenHash: b.hash, prefix: b.prefix, expiresAt: later(1000) }, T0);

    expect(await store().agents.findValidToken(a.hash, later(10))).toMatchObject({ id: idA, labels: ['linux', 'gpu'] });
    expect(await store().agents.findValidToken(b.hash, later(999))).toMatchObject({ id: idB, labels: null });
    expect(await store().agents.findValidToken(b.hash, later(1000))).toBeNull();
    expect(await store().agents.findValidToken(issueAgentToken().hash, T0)).toBeNull();

    expect(await store().agents.revokeToken(idA, later(5))).toBe(true);
    expect(await store().agents.findValidToken(a.hash, later(10))).toBeNull();
    expect((await store().agents.getToken(idA))?.revokedAt).toEqual(later(5));
    const listed = await store().agents.listTokens();
    expect(listed.map((t) => t.id)).toEqual(expect.arrayContaining([idA, idB]));
    expect(JSON.stringify(listed)).not.toContain(a.token);
  });

  it("keeps a token's slot cap (null: the default cap) and hands it to every token check", async () => {
    const capped = issueAgentToken();
    const plain = issueAgentToken();
    const idCapped = `tok_${uniqueOrg()}`;
    const idPlain = `tok_${uniqueOrg()}`;
    const record = await store().agents.insertToken({ id: idCapped, name: 'big', tokenHash: capped.hash, prefix: capped.prefix, maxConcurrency: 200 }, T0);
    await store().agents.insertToken({ id: idPlain, name: 'small', tokenHash: plain.hash, prefix: plain.prefix }, T0);

    expect(record.maxConcurrency).toBe(200);
    expect(await store().agents.findValidToken(capped.hash, T0)).toMatchObject({ id: idCapped, maxConcurrency: 200 });
    expect(await store().agents.findValidToken(plain.hash, T0)).toMatchObject({ id: idPlain, maxConcurrency: null });
    expect((await store().agents.getToken(idCapped))?.maxConcurrency).toBe(200);
    const hashes = await store().agents.validTokenHashes(T0);
    expect(hashes.find((t) => t.id === idCapped)).toMatchObject({ hash: capped.hash, maxConcurrency: 200 });
    expect(hashes.find((t) => t.id === idPlain)).toMatchObject({ hash: plain.hash, maxConcurrency: null });
    expect((await store().agents.listTokens()).find((t) => t.id === idCapped)?.maxConcurrency).toBe(200);
  });

  it('refuses a slot cap outside 1..10000', async () => {
    for (const maxConcurrency of [0, 10_001]) {
      const t = issueAgentToken();
      await expect(
        store().agents.insertToken({ id: `tok_${uniqueOrg()}`, name: 'bad', tokenHash: t.hash, prefix: t.prefix, maxConcurrency }, T0),
      ).rejects.toThrow(/agent_tokens_max_concurrency_range/);
    }
  });

  it('registers agents, keeps an agent id bound to its first token, and tracks liveness', async () => {
    const t1 = issueAgentToken();
    const t2 = issueAgentToken();
    const tok1 = `tok_${uniqueOrg()}`;
    const tok2 = `tok_${uniqueOrg()}`;
    await store().agents.insertToken({ id: tok1, name: 'one', tokenHash: t1.hash, prefix: t1.prefix }, T0);
    await store().agents.insertToken({ id: tok2, name: 'two', tokenHash: t2.hash, prefix: t2.prefix }, T0);
    const agentId = `agent_${uniqueOrg()}`;

    const registered = await store().agents.register({ id: agentId, tokenId: tok1, labels: ['os:linux'], hostname: 'h1', connectedNode: 'n1' }, T0);
    expect(registered).toEqual({ id: agentId, tokenId: tok1, labels: ['os:linux'], hostname: 'h1', lastSeenAt: T0, connectedNode: 'n1' });

    const again = await store().agents.register({ id: agentId, tokenId: tok1, labels: ['os:linux', 'x'], hostname: 'h1' }, later(1));
    expect(again.labels).toEqual(['os:linux', 'x']);

    const hijack = await store().agents.register({ id: agentId, tokenId: tok2, labels: ['evil'] }, later(2));
    expect(hijack.tokenId).toBe(tok1);
    expect(hijack.labels).toEqual(['os:linux', 'x']);

    expect(await store().agents.touch(agentId, later(3), null)).toBe(true);
    expect(await store().agents.get(agentId)).toMatchObject({ lastSeenAt: later(3), connectedNode: null });
    expect(await store().agents.touch('nobody', later(3))).toBe(false);
    expect((await store().agents.list({ tokenId: tok1 })).map((a) => a.id)).toEqual([agentId]);
  });
});

describeOnBothDrivers('workflow registrations', (store) => {
  it('replaces the set of a source in one go', async () => {
    const source = await store().sources.create({ orgId: uniqueOrg(), kind: 'git', name: 'r', verification: 'hmac_sha256' });
    const wf = (name: string, n: number) => ({
      workflowName: name,
      triggers: [{ type: 'generic_webhook', events: ['deploy'] }],
      lockfile: { name, jobs: { build: { steps: [{ run: `echo ${n}` }] } } },
    });
    await store().registrations.replace(source.id, 'sha1', [wf('ci', 1), wf('deploy', 1)], T0);
    expect((await store().registrations.list(source.id)).map((r) => [r.workflowName, r.sha])).toEqual([
      ['ci', 'sha1'],
      ['deploy', 'sha1'],
    ]);

    await store().registrations.replace(source.id, 'sha2', [wf('deploy', 2), wf('nightly', 2)], later(1));
    const after = await store().registrations.list(source.id);
    expect(after.map((r) => r.workflowName)).toEqual(['deploy', 'nightly']);
    expect(after.every((r) => r.sha === 'sha2')).toBe(true);
    const deploy = await store().registrations.get(source.id, 'deploy');
    expect(deploy?.lockfile).toEqual(wf('deploy', 2).lockfile);
    expect(deploy?.triggers).toEqual([{ type: 'generic_webhook', events: ['deploy'] }]);
    expect(deploy?.registeredAt).toEqual(later(1));

    await store().registrations.replace(source.id, 'sha3', [], later(2));
    expect(await store().registrations.list(source.id)).toEqual([]);
  });

  it('advances unchanged registrations to a new commit only from the commit they carry', async () => {
    const source = await store().sources.create({ orgId: uniqueOrg(), kind: 'git', name: 'r', verification: 'hmac_sha256' });
    const wf = (name: string) => ({ workflowName: name, triggers: [{ type: 'generic_webhook' }], lockfile: { name } });
    await store().registrations.replace(source.id, 'sha1', [wf('ci'), wf('deploy')], T0);

    expect(await store().registrations.advance(source.id, 'sha1', 'sha2', later(1))).toBe(2);
    const moved = await store().registrations.list(source.id);
    expect(moved.map((r) => [r.workflowName, r.sha, r.registeredAt])).toEqual([
      ['ci', 'sha2', later(1)],
      ['deploy', 'sha2', later(1)],
    ]);
    expect(moved.map((r) => r.lockfile)).toEqual([{ name: 'ci' }, { name: 'deploy' }]);

    // Rows that no longer carry `from` (another node wrote since) are left alone.
    expect(await store().registrations.advance(source.id, 'sha1', 'sha3', later(2))).toBe(0);
    expect((await store().registrations.list(source.id)).every((r) => r.sha === 'sha2')).toBe(true);
    expect(await store().registrations.advance('src_none', 'sha2', 'sha3', later(2))).toBe(0);
  });
});

describeOnBothDrivers('shards', (store) => {
  it('seeds a cluster of one once, and only moves shards forward in epoch', async () => {
    expect(await store().shards.seed('node-a')).toBe(SHARD_COUNT);
    expect(await store().shards.seed('node-b')).toBe(0);
    const shards = await store().shards.list();
    expect(shards).toHaveLength(256);
    expect(shards.every((s) => s.ownerNode === 'node-a' && s.epoch === 1)).toBe(true);

    expect(await store().shards.assign(7, 'node-b', 2)).toBe(true);
    expect(await store().shards.assign(7, 'node-a', 2)).toBe(false);
    expect(await store().shards.assign(7, 'node-a', 1)).toBe(false);
    expect(await store().shards.get(7)).toEqual({ shard: 7, ownerNode: 'node-b', epoch: 2 });
    expect(await store().shards.get(300)).toBeNull();
  });
});
