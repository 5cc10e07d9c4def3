/**
 * The admin token and audit repositories' contract, one suite per database driver: names unique
 * among live tokens, every creation and revocation committed with its audit row (and neither
 * without the other), the refusals that write nothing, the last live token kept, and the audit
 * read newest first with paging and filters. Tests sharing a backend keep to names and actors of
 * their own; those that count live tokens open a database of their own.
 *
 * Usage: `describeAdminTokenStoreContract('pglite', () => openAdminTokenDatabase('pglite'))`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAdminToken } from '../../src/secrets/index.js';
import {
  AdminTokenNameTakenError,
  AdminTokenRevokedError,
  type AuditActor,
  InvalidAdminTokenNameError,
  LastAdminTokenError,
  type Store,
  SYSTEM_ACTOR,
  UnknownAdminTokenError,
} from '../../src/store/index.js';
import { inOneTransaction } from '../../src/store/testing.js';

export interface AdminTokenStoreBackend {
  store: Store;
  /** True when writes from two connections really run at once (PostgreSQL; PGlite has one connection). */
  concurrent: boolean;
  close(): Promise<void>;
}

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let names = 0;
/** A name no other test of the run uses. */
const unique = (base: string) => `${base}-${process.pid}-${++names}`;
const actor = (name = unique('actor')): AuditActor => ({ name, tokenId: `adm_${name}` });

function newToken(name: string) {
  const issued = issueAdminToken();
  return { issued, token: { name, tokenHash: issued.hash, prefix: issued.prefix } };
}

export function describeAdminTokenStoreContract(name: string, open: () => Promise<AdminTokenStoreBackend>): void {
  describe(`admin token store contract [${name}]`, () => {
    let backend: AdminTokenStoreBackend | undefined;
    beforeAll(async () => {
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });
    const store = () => {
      if (!backend) throw new Error('backend not open');
      return backend.store;
    };
    const auditOf = async (by: AuditActor) => store().audit.list({ limit: 500, actor: by.name });

    /** A database of its own, for tests that count every live token. */
    async function alone(work: (s: Store, b: AdminTokenStoreBackend) => Promise<void>): Promise<void> {
      const own = await open();
      try {
        await work(own.store, own);
      } finally {
        await own.close();
      }
    }

    describe('create', () => {
      it('keeps the name, hash and prefix, and commits its audit row with the actor', async () => {
        const by = actor();
        const { issued, token } = newToken(unique('alice'));
        const record = await store().adminTokens.create(token, by, T0);
        expect(record).toEqual({ id: expect.stringMatching(/^adm_[0-9a-f]{16}$/), name: token.name, prefix: issued.prefix, role: 'admin', createdAt: T0, revokedAt: null });
        expect(await store().adminTokens.findActive(issued.hash)).toEqual(record);
        expect(await auditOf(by)).toEqual([
          {
            id: expect.any(Number),
            at: T0,
            actor: by.name,
            actorTokenId: by.tokenId,
            action: 'admin_token.create',
            subject: { id: record.id, name: token.name },
            details: { prefix: issued.prefix, role: 'admin' },
            orgId: null,
          },
        ]);
        const everything = JSON.stringify(await store().audit.list({ limit: 500 }));
        expect(everything).not.toContain(issued.token);
        expect(everything).not.toContain(issued.hash);
      });

      it('refuses a name taken by a live token, writing nothing; the name is free again once revoked', async () => {
        const by = actor();
        const taken = unique('bob');
        const first = await store().adminTokens.create(newToken(taken).token, by, T0);
        await expect(store().adminTokens.create(newToken(taken).token, by, at(1))).rejects.toBeInstanceOf(AdminTokenNameTakenError);
        expect((await store().adminTokens.list()).filter((t) => t.name === taken)).toHaveLength(1);
        expect(await auditOf(by)).toHaveLength(1);

        await store().adminTokens.create(newToken(unique('keeper')).token, by, at(2));
        await store().adminTokens.revoke(first.id, by, at(3));
        const second = await store().adminTokens.create(newToken(taken).token, by, at(4));
        expect(second.id).not.toBe(first.id);
        expect((await store().adminTokens.list()).filter((t) => t.name === taken).map((t) => [t.id, t.revokedAt])).toEqual([
          [first.id, at(3)],
          [second.id, null],
        ]);
      });

      it.each([[''], ['has space'], ['x'.repeat(65)], ['system'], ['System'], ['adm_alice'], ['-dash'], ['ålice'], ['tab\there']])(
        'refuses the name %j, writing nothing',
        async (bad) => {
          const by = actor();
          await expect(store().adminTokens.create(newToken(bad).token, by, T0)).rejects.toBeInstanceOf(InvalidAdminTokenNameError);
          expect((await store().adminTokens.list()).some((t) => t.name === bad)).toBe(false);
          expect(await auditOf(by)).toEqual([]);
        },
      );

      it('takes every character the rule allows, up to 64', async () => {
        for (const good of ['alice@example.com', 'ci.bot+deploy_1', `A${'b'.repeat(63)}`]) {
          expect((await store().adminTokens.create(newToken(good).token, actor(), T0)).name).toBe(good);
        }
      });

      it('commits nothing when its audit row cannot be written: one transaction', async () => {
        // The audit refuses an empty actor (CHECK), after the token's row was inserted.
        const { issued, token } = newToken(unique('orphan'));
        await expect(store().adminTokens.create(token, { name: '', tokenId: null }, T0)).rejects.toThrow();
        expect(await store().adminTokens.findByHash(issued.hash)).toBeNull();
      });

      it("joins a caller's transaction: rolled back with it, row and audit alike", async () => {
        const by = actor();
        const { issued, token } = newToken(unique('rolled'));
        await expect(
          inOneTransaction(store(), async (tx) => {
            await tx.adminTokens.create(token, by, T0);
            throw new Error('abandoned');
          }),
        ).rejects.toThrow('abandoned');
        expect(await store().adminTokens.findByHash(issued.hash)).toBeNull();
        expect(await auditOf(by)).toEqual([]);
      });

      it('replacing: revokes the live token of the name in the same transaction, both audited', async () => {
        const by = actor();
        const shared = unique('bootstrap');
        const old = await store().adminTokens.create(newToken(shared).token, by, T0);
        const fresh = await store().adminTokens.create(newToken(shared).token, by, at(1), { replacing: { why: 'rotated' }, details: { source: 'test' } });
        expect((await store().adminTokens.list()).filter((t) => t.name === shared).map((t) => [t.id, t.revokedAt])).toEqual([
          [old.id, at(1)],
          [fresh.id, null],
        ]);
        expect((await auditOf(by)).map((e) => [e.action, e.subject.id, e.details])).toEqual([
          ['admin_token.create', fresh.id, { prefix: fresh.prefix, role: 'admin', source: 'test' }],
          ['admin_token.revoke', old.id, { prefix: old.prefix, reason: 'rotated' }],
          ['admin_token.create', old.id, { prefix: old.prefix, role: 'admin' }],
        ]);
      });
    });

    describe('revoke', () => {
      it('by id or by live name, each audited with the actor; a revoked token no longer authenticates', async () => {
        const by = actor();
        const a = newToken(unique('carol'));
        const b = newToken(unique('dave'));
        const carol = await store().adminTokens.create(a.token, by, T0);
        const dave = await store().adminTokens.create(b.token, by, T0);
        expect(await store().adminTokens.revoke(carol.id, by, at(1))).toEqual({ ...carol, revokedAt: at(1) });
        expect(await store().adminTokens.revoke(dave.name, by, at(2))).toEqual({ ...dave, revokedAt: at(2) });
        expect(await store().adminTokens.findActive(a.issued.hash)).toBeNull();
        expect(await store().adminTokens.findActive(b.issued.hash)).toBeNull();
        expect((await auditOf(by)).slice(0, 2).map((e) => [e.action, e.subject, e.details])).toEqual([
          ['admin_token.revoke', { id: dave.id, name: dave.name }, { prefix: dave.prefix, self: false }],
          ['admin_token.revoke', { id: carol.id, name: carol.name }, { prefix: carol.prefix, self: false }],
        ]);
      });

      it("marks a revocation of the actor's own token as self", async () => {
        const { token } = newToken(unique('erin'));
        const erin = await store().adminTokens.create(token, SYSTEM_ACTOR, T0);
        await store().adminTokens.create(newToken(unique('keeper')).token, SYSTEM_ACTOR, T0);
        const self: AuditActor = { name: erin.name, tokenId: erin.id };
        await store().adminTokens.revoke(erin.id, self, at(1));
        expect((await auditOf(self))[0]).toMatchObject({ action: 'admin_token.revoke', details: { self: true }, actorTokenId: erin.id });
      });

      it('refuses an unknown ref, a revoked id and the name of no live token, writing nothing', async () => {
        const by = actor();
        const gone = await store().adminTokens.create(newToken(unique('frank')).token, by, T0);
        await store().adminTokens.create(newToken(unique('keeper')).token, by, T0);
        await store().adminTokens.revoke(gone.id, by, at(1));
        const written = (await auditOf(by)).length;
        await expect(store().adminTokens.revoke('adm_0000000000000000', by, at(2))).rejects.toBeInstanceOf(UnknownAdminTokenError);
        await expect(store().adminTokens.revoke(unique('nobody'), by, at(2))).rejects.toBeInstanceOf(UnknownAdminTokenError);
        await expect(store().adminTokens.revoke(gone.name, by, at(2))).rejects.toBeInstanceOf(UnknownAdminTokenError);
        await expect(store().adminTokens.revoke(gone.id, by, at(2))).rejects.toBeInstanceOf(AdminTokenRevokedError);
        expect((await store().adminTokens.list()).find((t) => t.id === gone.id)?.revokedAt).toEqual(at(1));
        expect(await auditOf(by)).toHaveLength(written);
      });

      it('never revokes the last live token', async () => {
        await alone(async (s) => {
          const by = actor();
          const only = await s.adminTokens.create(newToken('admin').token, SYSTEM_ACTOR, T0);
          await expect(s.adminTokens.revoke(only.id, by, at(1))).rejects.toBeInstanceOf(LastAdminTokenError);
          await expect(s.adminTokens.revoke('admin', by, at(1))).rejects.toBeInstanceOf(LastAdminTokenError);
          expect((await s.adminTokens.list()).map((t) => t.revokedAt)).toEqual([null]);
          expect(await s.audit.list({ limit: 10, action: 'admin_token.revoke' })).toEqual([]);
          // With a second one, the first goes; then the second is the last.
          const second = await s.adminTokens.create(newToken('alice').token, by, at(2));
          await s.adminTokens.revoke(only.id, by, at(3));
          await expect(s.adminTokens.revoke(second.id, by, at(4))).rejects.toBeInstanceOf(LastAdminTokenError);
        });
      });

      it('two revocations at once of the last two live tokens: one wins, one token stays live', async () => {
        await alone(async (s, b) => {
          // Two connections open first, so both transactions of a round really overlap on PostgreSQL.
          await Promise.all([s.adminTokens.list(), s.adminTokens.list(), s.adminTokens.list()]);
          let kept = await s.adminTokens.create(newToken('round-0').token, SYSTEM_ACTOR, T0);
          for (let round = 1; round <= 10; round++) {
            const added = await s.adminTokens.create(newToken(`round-${round}`).token, SYSTEM_ACTOR, at(round));
            const outcomes = await Promise.allSettled([s.adminTokens.revoke(kept.id, actor(), at(round)), s.adminTokens.revoke(added.id, actor(), at(round))]);
            expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
            expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(LastAdminTokenError);
            const live = (await s.adminTokens.list()).filter((t) => !t.revokedAt);
            expect(live).toHaveLength(1);
            kept = live[0];
          }
          expect(await s.audit.list({ limit: 50, action: 'admin_token.revoke' })).toHaveLength(10);
          if (!b.concurrent) return;
          // Two creations at once under one name: one is refused.
          const made = await Promise.allSettled([s.adminTokens.create(newToken('same').token, SYSTEM_ACTOR, T0), s.adminTokens.create(newToken('same').token, SYSTEM_ACTOR, T0)]);
          expect(made.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
          expect((made.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(AdminTokenNameTakenError);
        });
      });
    });

    describe('the audit', () => {
      it('lists newest first, pages with before, and filters by action and actor', async () => {
        const by = actor();
        const made = [];
        for (let i = 0; i < 5; i++) made.push(await store().adminTokens.create(newToken(unique('page')).token, by, at(i)));
        await store().adminTokens.revoke(made[0].id, by, at(10));
        const all = await auditOf(by);
        expect(all.map((e) => e.subject.id)).toEqual([made[0].id, ...made.map((t) => t.id).reverse()]);
        expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => y - x));

        const first = await store().audit.list({ limit: 2, actor: by.name });
        const second = await store().audit.list({ limit: 2, actor: by.name, before: first[1].id });
        const third = await store().audit.list({ limit: 2, actor: by.name, before: second[1].id });
        expect([...first, ...second, ...third]).toEqual(all);

        expect((await store().audit.list({ limit: 50, actor: by.name, action: 'admin_token.revoke' })).map((e) => e.subject.id)).toEqual([made[0].id]);
        expect(await store().audit.list({ limit: 50, actor: unique('stranger') })).toEqual([]);
        expect((await store().audit.list({ limit: 3 })).length).toBe(3);
      });
    });
  });
}
