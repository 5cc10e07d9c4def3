import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueAdminToken } from '../../../src/secrets/index.js';
import { SYSTEM_ACTOR, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers } from '../../support/store-drivers.js';

/**
 * The web view's sessions (migration 022) on PostgreSQL and PGlite: a session is found by its
 * secret only while it is unexpired and its admin token live, the table keeps a hash and never the
 * secret, and the sweep removes exactly the expired rows.
 */
const T0 = new Date('2026-12-07T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

let counter = 0;
async function newToken(store: Store, role: 'admin' | 'viewer' = 'admin') {
  counter += 1;
  const issued = issueAdminToken();
  const record = await store.adminTokens.create({ name: `ui-${process.pid}-${counter}`, tokenHash: issued.hash, prefix: issued.prefix, role }, SYSTEM_ACTOR, T0);
  return record;
}

describeOnBothDrivers('ui sessions', (store) => {
  it('opens a session found by its secret, with the token name, role and csrf value', async () => {
    const token = await newToken(store(), 'viewer');
    const opened = await store().uiSessions.open(token.id, 12 * HOUR, T0);
    expect(opened.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(opened.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(opened.csrf).not.toBe(opened.secret);
    expect(opened.expiresAt.toISOString()).toBe(at(12 * HOUR).toISOString());
    const found = await store().uiSessions.find(opened.secret, at(HOUR));
    expect(found).toEqual({ tokenId: token.id, name: token.name, role: 'viewer', csrf: opened.csrf, expiresAt: opened.expiresAt });
  });

  it('keeps only the SHA-256 of the secret', async () => {
    const token = await newToken(store());
    const opened = await store().uiSessions.open(token.id, HOUR, T0);
    const rows = await queryBuilderOf(store()).selectFrom('ui_sessions').selectAll().where('token_id', '=', token.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].secret_hash).toBe(createHash('sha256').update(opened.secret).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(opened.secret);
  });

  it('finds nothing for an unknown secret, after expiry, or once the token is revoked', async () => {
    const token = await newToken(store());
    const keep = await newToken(store()); // revoking needs another live admin token
    const opened = await store().uiSessions.open(token.id, HOUR, T0);
    expect(await store().uiSessions.find('x'.repeat(43), T0)).toBeNull();
    expect(await store().uiSessions.find(opened.secret, at(HOUR - 1))).not.toBeNull();
    expect(await store().uiSessions.find(opened.secret, at(HOUR))).toBeNull();
    const again = await store().uiSessions.open(token.id, HOUR, T0);
    await store().adminTokens.revoke(token.id, { name: keep.name, tokenId: keep.id }, at(1));
    expect(await store().uiSessions.find(again.secret, at(2))).toBeNull();
  });

  it('closes a session; closing twice finds nothing the second time', async () => {
    const token = await newToken(store());
    const opened = await store().uiSessions.open(token.id, HOUR, T0);
    expect(await store().uiSessions.close(opened.secret)).toBe(true);
    expect(await store().uiSessions.find(opened.secret, T0)).toBeNull();
    expect(await store().uiSessions.close(opened.secret)).toBe(false);
  });

  it('sweeps the expired sessions and leaves the live ones', async () => {
    const token = await newToken(store());
    const short = await store().uiSessions.open(token.id, HOUR, at(-10 * HOUR));
    const long = await store().uiSessions.open(token.id, 100 * HOUR, at(-10 * HOUR));
    expect(await store().uiSessions.sweep(T0)).toBeGreaterThanOrEqual(1);
    const left = await queryBuilderOf(store()).selectFrom('ui_sessions').select('secret_hash').where('token_id', '=', token.id).execute();
    const hash = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(left.map((r) => r.secret_hash)).toEqual([hash(long.secret)]);
    expect(await store().uiSessions.find(short.secret, T0)).toBeNull();
  });

  it('refuses a session for a token that does not exist', async () => {
    await expect(store().uiSessions.open('adm_0000000000000000', HOUR, T0)).rejects.toThrow();
  });
});

describe('the sessions table', () => {
  it('is one of the migrations', async () => {
    const { MIGRATION_NAMES } = await import('../../../src/store/index.js');
    expect(MIGRATION_NAMES).toContain('022_ui_sessions');
  });
});
