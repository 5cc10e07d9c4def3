/**
 * `kici-admin admin-token create|list|revoke` and `kici-admin audit` against a real orchestrator
 * (PGlite): the value printed once at creation and nowhere else, `--json` printing the API's
 * objects, refusals exiting 1 with the API's message and usage mistakes exiting 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTokenRig, startAdminTokenRig } from './orchestrator.js';

let rig: AdminTokenRig;
const admin = (argv: string[]) => rig.admin(rig.firstToken, argv);
async function adminJson<T = any>(argv: string[], token = rig.firstToken): Promise<T> {
  const r = await rig.admin(token, ['--json', ...argv]);
  if (r.code !== 0) throw new Error(`kici-admin ${argv.join(' ')} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

beforeAll(async () => {
  rig = await startAdminTokenRig('pglite');
});

afterAll(async () => {
  await rig?.stop();
});

describe('admin-token create', () => {
  it('prints the record and the value once, for a person', async () => {
    const r = await admin(['admin-token', 'create', '--name', 'alice']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^id\s+adm_[0-9a-f]{16}$/m);
    expect(r.out).toMatch(/^name\s+alice$/m);
    const value = /^token \(shown once\): (kadm_[0-9a-f]{64})$/m.exec(r.out)?.[1];
    expect(value).toBeDefined();
    expect(r.out.split(value!).length).toBe(2);
    // It works at once, and is nowhere in the list or the audit.
    const list = await rig.admin(value!, ['admin-token', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).not.toContain(value!);
    expect((await admin(['audit'])).out).not.toContain(value!);
  });

  it('prints the API object with --json, the value included', async () => {
    const created = await adminJson(['admin-token', 'create', '--name', 'bob']);
    expect(created).toEqual({ id: expect.any(String), name: 'bob', prefix: expect.any(String), role: 'admin', createdAt: expect.any(String), revokedAt: null, token: expect.stringMatching(/^kadm_/) });
  });

  it("exits 1 with the API's message for a live name, and 2 without --name", async () => {
    const taken = await admin(['admin-token', 'create', '--name', 'alice']);
    expect(taken.code).toBe(1);
    expect(taken.err).toBe('kici-admin: a live admin token is named alice already: revoke it first, or choose another name (HTTP 409)\n');
    expect((await admin(['admin-token', 'create'])).code).toBe(2);
    const bad = await admin(['admin-token', 'create', '--name', 'two words']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^kici-admin: name: 1–64 characters.*\(HTTP 400\)\n$/);
  });
});

describe('admin-token list and revoke', () => {
  it('lists every token with its state, never a value', async () => {
    const r = await admin(['admin-token', 'list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ID\s+NAME\s+ROLE\s+PREFIX\s+STATUS\s+CREATEDAT\s+REVOKEDAT$/m);
    expect(r.out).toMatch(/^adm_\S+\s+admin\s+admin\s+kadm_\S+\s+live\s/m);
    expect(r.out).not.toContain(rig.firstToken);
    const json = await adminJson<{ name: string }[]>(['admin-token', 'list']);
    expect(json.map((t) => t.name)).toEqual(['admin', 'alice', 'bob']);
  });

  it('revokes by name or by id; the last live token is refused', async () => {
    const byName = await admin(['admin-token', 'revoke', 'alice']);
    expect(byName.code, byName.err).toBe(0);
    expect(byName.out).toMatch(/^revoked adm_\S+ \(alice\)\n$/);
    const bob = (await adminJson<{ id: string; name: string }[]>(['admin-token', 'list'])).find((t) => t.name === 'bob')!;
    const byId = await adminJson(['admin-token', 'revoke', bob.id]);
    expect(byId).toMatchObject({ id: bob.id, name: 'bob', revokedAt: expect.any(String), self: false });

    const unknown = await admin(['admin-token', 'revoke', 'nobody']);
    expect(unknown).toMatchObject({ code: 1, err: 'kici-admin: no admin token nobody (an id, or the name of a live token) (HTTP 404)\n' });
    const last = await admin(['admin-token', 'revoke', 'admin']);
    expect(last.code).toBe(1);
    expect(last.err).toMatch(/is the last live admin token: create another admin token before revoking it \(HTTP 409\)\n$/);
  });

  it("says so when the token used was the one revoked", async () => {
    const carol = await adminJson<{ token: string }>(['admin-token', 'create', '--name', 'carol']);
    const r = await rig.admin(carol.token, ['admin-token', 'revoke', 'carol']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('that was the token this command used');
  });
});

describe('audit', () => {
  it('shows who did what, newest first, as a table or the API objects', async () => {
    const r = await admin(['audit']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+AT\s+ACTOR\s+ACTION\s+SUBJECT\s+DETAILS$/);
    // Details as key=value in jsonb's key order.
    expect(lines[1]).toMatch(/^\d+\s+\S+\s+carol\s+admin_token\.revoke\s+carol \(adm_\S+\)\s+(?=.*\bself=true\b)(?=.*\bprefix=kadm_[0-9a-f]{7}\b)/);
    expect(lines.at(-1)).toMatch(/^\d+\s+\S+\s+system\s+admin_token\.create\s+admin \(adm_\S+\)\s+(?=.*\bsource=first start\b)(?=.*\bprefix=kadm_)/);

    const events = await adminJson<{ actor: string; action: string; subject: { name: string } }[]>(['audit', '--actor', 'admin', '--action', 'admin_token.revoke']);
    expect(events.map((e) => [e.actor, e.action, e.subject.name])).toEqual([
      ['admin', 'admin_token.revoke', 'bob'],
      ['admin', 'admin_token.revoke', 'alice'],
    ]);
  });

  it('pages with --limit and --before', async () => {
    const first = await admin(['audit', '--limit', '2']);
    const next = /^older events: --before (\d+)$/m.exec(first.out)?.[1];
    expect(next).toBeDefined();
    const rest = await adminJson<{ id: number }[]>(['audit', '--before', next!]);
    expect(rest.every((e) => e.id < Number(next))).toBe(true);
    expect(rest.length).toBeGreaterThan(0);
  });

  it.each([[['audit', '--limit', '0']], [['audit', '--limit', '501']], [['audit', '--before', 'x']], [['audit', '--bogus']]])('exits 2 on bad usage: %j', async (argv) => {
    expect((await admin(argv)).code).toBe(2);
  });

  it('exits 1 for an action the API cannot take', async () => {
    const r = await admin(['audit', '--action', 'Not An Action']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('(HTTP 400)');
  });
});
