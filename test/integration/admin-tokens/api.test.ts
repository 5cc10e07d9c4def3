/**
 * `/api/v1/admin-tokens` and `/api/v1/audit` through a real orchestrator, on PGlite and on
 * PostgreSQL: named tokens created (the value answered once), a live name refused until its token
 * is revoked, lists that never show a hash or a value, revocation by id or name, the last live
 * token kept, an audit row for each change naming the caller's token, and 400s for bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../../src/secrets/index.js';
import { DRIVERS } from '../../support/store-drivers.js';
import { type AdminTokenRig, startAdminTokenRig } from './orchestrator.js';

for (const driver of DRIVERS) {
  describe(`admin tokens over the API [${driver}]`, () => {
    let rig: AdminTokenRig;
    /** Every token value this suite saw: none may appear in a list or the audit. */
    const values: string[] = [];
    const as = (token: string) => (method: string, path: string, body?: unknown, raw?: string) => rig.api(token, method, path, body, raw);
    const root = (method: string, path: string, body?: unknown, raw?: string) => rig.api(rig.firstToken, method, path, body, raw);

    async function create(name: string, by = root) {
      const r = await by('POST', '/admin-tokens', { name });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      values.push(r.body.token);
      return r.body as { id: string; name: string; prefix: string; createdAt: string; token: string };
    }

    beforeAll(async () => {
      rig = await startAdminTokenRig(driver);
      values.push(rig.firstToken);
    });
    afterAll(async () => {
      await rig?.stop();
    });

    it('the first-start token is named admin, and its creation is audited as system', async () => {
      const list = await root('GET', '/admin-tokens');
      expect(list.body.tokens).toEqual([{ id: expect.stringMatching(/^adm_/), name: 'admin', prefix: rig.firstToken.slice(0, 12), role: 'admin', createdAt: expect.any(String), revokedAt: null }]);
      const audit = await root('GET', '/audit?actor=system');
      expect(audit.body.events).toEqual([
        {
          id: expect.any(Number),
          at: expect.any(String),
          actor: 'system',
          actorTokenId: null,
          action: 'admin_token.create',
          subject: { id: list.body.tokens[0].id, name: 'admin' },
          details: { prefix: rig.firstToken.slice(0, 12), role: 'admin', source: 'first start' },
          orgId: null,
        },
      ]);
    });

    it('creates a named token: its value answered once, working at once, its creation audited with the caller', async () => {
      const alice = await create('alice');
      expect(alice).toEqual({ id: expect.stringMatching(/^adm_[0-9a-f]{16}$/), name: 'alice', prefix: alice.token.slice(0, 12), role: 'admin', createdAt: expect.any(String), revokedAt: null, token: expect.stringMatching(/^kadm_[0-9a-f]{64}$/) });
      const listedByAlice = await as(alice.token)('GET', '/admin-tokens');
      expect(listedByAlice.status).toBe(200);
      expect(listedByAlice.body.tokens.map((t: { name: string }) => t.name)).toContain('alice');

      // Alice makes one in turn: the audit names her as the actor.
      const bob = await create('bob', as(alice.token));
      const events = (await root('GET', '/audit?action=admin_token.create&limit=2')).body.events;
      expect(events.map((e: any) => [e.actor, e.actorTokenId, e.subject])).toEqual([
        ['alice', alice.id, { id: bob.id, name: 'bob' }],
        ['admin', expect.stringMatching(/^adm_/), { id: alice.id, name: 'alice' }],
      ]);
    });

    it('refuses a live name (409), and takes it again once its token is revoked', async () => {
      const first = await create('carol');
      const taken = await root('POST', '/admin-tokens', { name: 'carol' });
      expect(taken).toEqual({ status: 409, body: { error: { code: 'conflict', message: 'a live admin token is named carol already: revoke it first, or choose another name' } } });
      expect((await root('DELETE', '/admin-tokens/carol')).status).toBe(200);
      const again = await create('carol');
      expect(again.id).not.toBe(first.id);
      const carols = (await root('GET', '/admin-tokens')).body.tokens.filter((t: { name: string }) => t.name === 'carol');
      expect(carols.map((t: any) => [t.id, t.revokedAt === null])).toEqual([
        [first.id, false],
        [again.id, true],
      ]);
    });

    it('lists tokens with id, name, role, prefix and dates only: never a hash or a value', async () => {
      await create('dave');
      const list = await root('GET', '/admin-tokens');
      for (const t of list.body.tokens) expect(Object.keys(t).sort()).toEqual(['createdAt', 'id', 'name', 'prefix', 'revokedAt', 'role']);
      const text = JSON.stringify(list.body);
      for (const value of values) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(hashToken(value));
      }
    });

    it('revokes by id or by name, audited with the caller; a revoked token gets 401; again 409; unknown 404', async () => {
      const erin = await create('erin');
      const frank = await create('frank');
      const byId = await root('DELETE', `/admin-tokens/${erin.id}`);
      expect(byId).toEqual({ status: 200, body: { id: erin.id, name: 'erin', prefix: erin.prefix, role: 'admin', createdAt: erin.createdAt, revokedAt: expect.any(String), self: false } });
      expect((await as(erin.token)('GET', '/admin-tokens')).status).toBe(401);

      const byName = await as(frank.token)('DELETE', '/admin-tokens/erin');
      expect(byName.status).toBe(404);
      expect(byName.body.error.code).toBe('not_found');
      const again = await root('DELETE', `/admin-tokens/${erin.id}`);
      expect(again).toEqual({ status: 409, body: { error: { code: 'already_revoked', message: `admin token ${erin.id} (erin) is revoked already` } } });
      expect((await root('DELETE', '/admin-tokens/adm_0000000000000000')).status).toBe(404);

      const revokes = (await root('GET', '/audit?action=admin_token.revoke&limit=1')).body.events;
      expect(revokes).toEqual([expect.objectContaining({ actor: 'admin', subject: { id: erin.id, name: 'erin' }, details: { prefix: erin.prefix, self: false } })]);
    });

    it("revoking one's own token says so (self), and the token is refused from then on", async () => {
      const gina = await create('gina');
      const r = await as(gina.token)('DELETE', '/admin-tokens/gina');
      expect(r.status).toBe(200);
      expect(r.body.self).toBe(true);
      expect((await as(gina.token)('GET', '/audit')).status).toBe(401);
      const event = (await root('GET', '/audit?actor=gina')).body.events[0];
      expect(event).toMatchObject({ action: 'admin_token.revoke', actorTokenId: gina.id, details: { self: true } });
    });

    it('never revokes the last live token (409), and says why', async () => {
      const live = (await root('GET', '/admin-tokens')).body.tokens.filter((t: { revokedAt: string | null; name: string }) => !t.revokedAt && t.name !== 'admin');
      for (const t of live) expect((await root('DELETE', `/admin-tokens/${t.id}`)).status).toBe(200);
      const last = await root('DELETE', '/admin-tokens/admin');
      expect(last.status).toBe(409);
      expect(last.body.error.code).toBe('last_admin_token');
      expect(last.body.error.message).toMatch(/is the last live admin token: create another admin token before revoking it/);
      expect((await root('GET', '/admin-tokens')).status).toBe(200);
    });

    it('the audit pages newest first with before and nextBefore, and never holds a token value', async () => {
      const all = (await root('GET', '/audit?limit=500')).body;
      expect(all.nextBefore).toBeNull();
      const ids = all.events.map((e: { id: number }) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      const pages: number[] = [];
      let before: number | null = null;
      do {
        const page = (await root('GET', `/audit?limit=3${before ? `&before=${before}` : ''}`)).body as { events: { id: number }[]; nextBefore: number | null };
        pages.push(...page.events.map((e) => e.id));
        before = page.nextBefore;
      } while (before !== null);
      expect(pages).toEqual(ids);

      const text = JSON.stringify(all);
      expect(values.length).toBeGreaterThan(5);
      for (const value of values) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(hashToken(value));
      }
    });

    it.each([
      ['no body', undefined, undefined, 'name: Invalid input: expected string, received undefined'],
      ['an empty name', { name: '' }, undefined, 'name: 1–64 characters'],
      ['a space', { name: 'al ice' }, undefined, 'name: 1–64 characters'],
      ['65 characters', { name: 'a'.repeat(65) }, undefined, 'name: 1–64 characters'],
      ['system', { name: 'system' }, undefined, 'name: "system" is reserved'],
      ['an id', { name: 'adm_alice' }, undefined, 'name: "adm_" starts token ids'],
      ['a number', { name: 7 }, undefined, 'name: Invalid input'],
      ['an unknown field', { name: 'zed', owner: 'me' }, undefined, 'body: Unrecognized key'],
      ['an unknown role', { name: 'zed', role: 'owner' }, undefined, 'role: Invalid option'],
      ['not JSON', undefined, '{name', 'body is not valid JSON'],
    ])('POST /admin-tokens with %s is a 400 naming the problem, and creates nothing', async (_what, body, raw, message) => {
      const before = (await root('GET', '/admin-tokens')).body.tokens.length;
      const r = await root('POST', '/admin-tokens', body, raw);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(message);
      expect((await root('GET', '/admin-tokens')).body.tokens.length).toBe(before);
    });

    it.each([['limit=0'], ['limit=501'], ['limit=ten'], ['before=0'], ['before=x'], ['action=Bad%20Action'], ['action=create'], ['actor=a%20b'], ['subject=x']])(
      'GET /audit?%s is a 400',
      async (query) => {
        const r = await root('GET', `/audit?${query}`);
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
      },
    );

    it('answers 401 without a valid token, as every admin route does', async () => {
      expect((await rig.api('kadm_nope', 'GET', '/audit')).status).toBe(401);
      expect((await rig.api('kadm_nope', 'POST', '/admin-tokens', { name: 'mallory' })).status).toBe(401);
    });
  });
}
