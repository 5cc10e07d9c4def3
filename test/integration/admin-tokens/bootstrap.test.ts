/**
 * The start-up token on a real store: a first start issues `admin`, KICI_BOOTSTRAP_ADMIN_TOKEN
 * registers `bootstrap` (a new value replacing the old, a revoked value never coming back), and
 * each creation and revocation made at start-up is audited with the actor `system`, never with a
 * token value. Each test opens a database of its own: what it checks depends on every live token.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE } from '../../../src/admin/index.js';
import { hashToken } from '../../../src/secrets/index.js';
// Imported from the file itself so this test does not load the whole composition root.
import { ensureAdminToken } from '../../../src/server/bootstrap.js';
import { type Store, SYSTEM_ACTOR } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { DRIVERS, openTestStore } from '../../support/store-drivers.js';

const CHOSEN = 'chosen-admin-token-0001';
const CHANGED = 'chosen-admin-token-0002';

const opened: { store: Store; dataDir: string }[] = [];
afterEach(async () => {
  for (const { store, dataDir } of opened.splice(0)) {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function fresh(driver: (typeof DRIVERS)[number]) {
  const t = await openTestStore(driver);
  opened.push(t);
  return t;
}

const live = async (store: Store) => (await store.adminTokens.list()).filter((t) => !t.revokedAt);
const audit = (store: Store) => store.audit.list({ limit: 50 });

for (const driver of DRIVERS) {
  describe(`start-up admin token [${driver}]`, () => {
    it('a first start issues one named admin, audited as system; later starts issue nothing', async () => {
      const { store, dataDir } = await fresh(driver);
      const boot = await ensureAdminToken(store.adminTokens, dataDir);
      expect(boot.kind).toBe('created');
      const token = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
      expect(await store.adminTokens.findActive(hashToken(token))).toMatchObject({ name: 'admin' });
      const events = await audit(store);
      expect(events).toEqual([expect.objectContaining({ actor: 'system', actorTokenId: null, action: 'admin_token.create', subject: { id: expect.any(String), name: 'admin' } })]);
      expect(events[0].details).toEqual({ prefix: token.slice(0, 12), role: 'admin', source: 'first start' });
      expect(JSON.stringify(events)).not.toContain(token);

      expect(await ensureAdminToken(store.adminTokens, dataDir)).toMatchObject({ kind: 'existing', file: path.join(dataDir, ADMIN_TOKEN_FILE) });
      expect(await audit(store)).toHaveLength(1);
    });

    it('KICI_BOOTSTRAP_ADMIN_TOKEN registers bootstrap once, shows only 4 characters of it, and is audited as system', async () => {
      const { store, dataDir } = await fresh(driver);
      expect(await ensureAdminToken(store.adminTokens, dataDir, CHOSEN)).toEqual({ kind: 'configured' });
      expect(await ensureAdminToken(store.adminTokens, dataDir, CHOSEN)).toEqual({ kind: 'configured' });
      expect((await live(store)).map((t) => [t.name, t.prefix])).toEqual([['bootstrap', 'chos']]);
      const events = await audit(store);
      expect(events.map((e) => [e.actor, e.action, e.subject.name, e.details])).toEqual([['system', 'admin_token.create', 'bootstrap', { prefix: 'chos', role: 'admin', source: 'KICI_BOOTSTRAP_ADMIN_TOKEN' }]]);
      expect(JSON.stringify(events)).not.toContain(CHOSEN);
    });

    it('a new value replaces the previous bootstrap token in one step, both audited, with a notice', async () => {
      const { store, dataDir } = await fresh(driver);
      await ensureAdminToken(store.adminTokens, dataDir, CHOSEN);
      const before = (await live(store))[0];
      const boot = await ensureAdminToken(store.adminTokens, dataDir, CHANGED);
      expect(boot).toEqual({ kind: 'configured', notice: expect.stringContaining(`${before.id}, is revoked`) });
      expect(boot.notice).not.toContain(CHOSEN.slice(0, 5));
      expect(await store.adminTokens.findActive(hashToken(CHOSEN))).toBeNull();
      expect(await store.adminTokens.findActive(hashToken(CHANGED))).toMatchObject({ name: 'bootstrap' });
      expect((await audit(store)).map((e) => [e.actor, e.action, e.details.reason ?? e.details.source])).toEqual([
        ['system', 'admin_token.create', 'KICI_BOOTSTRAP_ADMIN_TOKEN'],
        ['system', 'admin_token.revoke', 'KICI_BOOTSTRAP_ADMIN_TOKEN changed'],
        ['system', 'admin_token.create', 'KICI_BOOTSTRAP_ADMIN_TOKEN'],
      ]);
    });

    it('a revoked configured token stays revoked: a notice, and a token in the data directory if none is live', async () => {
      const { store, dataDir } = await fresh(driver);
      await ensureAdminToken(store.adminTokens, dataDir, CHOSEN);
      // Revoked by an operator (another token made first, so it is not the last).
      const other = await store.adminTokens.create({ name: 'alice', tokenHash: hashToken('x'.repeat(20)), prefix: 'xxxx' }, SYSTEM_ACTOR, new Date());
      await store.adminTokens.revoke('bootstrap', { name: 'alice', tokenId: other.id }, new Date());

      const whileAliceLives = await ensureAdminToken(store.adminTokens, dataDir, CHOSEN);
      expect(whileAliceLives).toEqual({ kind: 'existing', file: undefined, notice: expect.stringContaining('was revoked: it is not registered again') });
      expect(await store.adminTokens.findActive(hashToken(CHOSEN))).toBeNull();

      await store.adminTokens.create({ name: 'bob', tokenHash: hashToken('y'.repeat(20)), prefix: 'yyyy' }, SYSTEM_ACTOR, new Date());
      await store.adminTokens.revoke('alice', SYSTEM_ACTOR, new Date());
      // Bob is the last live one; a restart with the revoked value still does not bring it back.
      expect((await ensureAdminToken(store.adminTokens, dataDir, CHOSEN)).kind).toBe('existing');
      expect((await live(store)).map((t) => t.name)).toEqual(['bob']);

      // No live token at all (revoked in SQL: the API never leaves none): the start issues `admin`.
      await sql`UPDATE admin_tokens SET revoked_at = now() WHERE revoked_at IS NULL`.execute(queryBuilderOf(store));
      const locked = await ensureAdminToken(store.adminTokens, dataDir, CHOSEN);
      expect(locked).toMatchObject({ kind: 'created', notice: expect.stringContaining('was revoked') });
      expect((await live(store)).map((t) => t.name)).toEqual(['admin']);
      expect(await store.adminTokens.findActive(hashToken(readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim()))).toMatchObject({ name: 'admin' });
    });
  });
}
