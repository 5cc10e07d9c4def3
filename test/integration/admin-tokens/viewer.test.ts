/**
 * Viewer tokens (`admin-token create --role viewer`) through a real orchestrator: they read what
 * the web view shows and vote on holds, and every other route answers 403 without running; the
 * role is listed, audited, and kept from counting as the last admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTokenRig, startAdminTokenRig } from './orchestrator.js';

describe('viewer tokens', () => {
  let rig: AdminTokenRig;
  let viewer: { id: string; token: string; role: string };

  beforeAll(async () => {
    rig = await startAdminTokenRig('pglite');
    const r = await rig.api(rig.firstToken, 'POST', '/admin-tokens', { name: 'vera', role: 'viewer' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    viewer = r.body as typeof viewer;
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('is created with its role, which the list shows and the audit keeps', async () => {
    expect(viewer.role).toBe('viewer');
    const listed = (await rig.api(rig.firstToken, 'GET', '/admin-tokens')).body.tokens.find((t: { name: string }) => t.name === 'vera');
    expect(listed).toMatchObject({ role: 'viewer', revokedAt: null });
    const audit = (await rig.api(rig.firstToken, 'GET', '/audit?action=admin_token.create')).body.events;
    expect(audit.find((e: { subject: { name: string } }) => e.subject.name === 'vera').details).toMatchObject({ role: 'viewer' });
  });

  it('reads runs, agents, the event log, the cluster and sources', async () => {
    for (const path of ['/runs', '/agents', '/event-log', '/cluster/status', '/sources', '/environments']) {
      const r = await rig.api(viewer.token, 'GET', path);
      expect([path, r.status]).not.toEqual([path, 403]);
      expect([path, r.status]).not.toEqual([path, 401]);
    }
  });

  it('is refused every write and every read of credentials, with a 403 that says why', async () => {
    const refused: [string, string, unknown?][] = [
      ['GET', '/admin-tokens'],
      ['GET', '/secrets'],
      ['GET', '/audit'],
      ['GET', '/peers/tokens'],
      ['POST', '/admin-tokens', { name: 'mallory' }],
      ['POST', '/sources', { type: 'git', name: 'x', url: 'https://example.com/x.git' }],
      ['POST', '/runs/00000000-0000-4000-8000-000000000000/cancel', {}],
      ['POST', '/runs/trigger', { sourceId: 'x', ref: 'main' }],
      ['DELETE', '/admin-tokens/admin'],
    ];
    for (const [method, path, body] of refused) {
      const r = await rig.api(viewer.token, method, path, body);
      expect({ method, path, status: r.status, code: r.body.error?.code }).toEqual({ method, path, status: 403, code: 'forbidden' });
      expect(r.body.error.message).toMatch(/viewer token/);
    }
    // Nothing ran: no token named mallory exists.
    const names = (await rig.api(rig.firstToken, 'GET', '/admin-tokens')).body.tokens.map((t: { name: string }) => t.name);
    expect(names).not.toContain('mallory');
  });

  it('reaches the run to vote on a hold (answered by the run, not refused by role)', async () => {
    const r = await rig.api(viewer.token, 'POST', '/runs/00000000-0000-4000-8000-000000000000/approve', {});
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });

  it('a viewer is never the last admin: the last admin token stays, a viewer can always be revoked', async () => {
    const last = await rig.api(rig.firstToken, 'DELETE', '/admin-tokens/admin');
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_admin_token');
    const gone = await rig.api(rig.firstToken, 'DELETE', '/admin-tokens/vera');
    expect(gone.status).toBe(200);
    expect((await rig.api(viewer.token, 'GET', '/runs')).status).toBe(401);
  });

  it('kici-admin admin-token create --role viewer prints the role; an unknown role is refused before any request', async () => {
    const made = await rig.admin(rig.firstToken, ['admin-token', 'create', '--name', 'walt', '--role', 'viewer']);
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/^role\s+viewer$/m);
    const bad = await rig.admin(rig.firstToken, ['admin-token', 'create', '--name', 'xena', '--role', 'root']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/Allowed choices are admin, viewer/);
  });
});
