/**
 * `/api/v1/environments` through a real orchestrator (PGlite in its data directory): create, list,
 * get by id or by name, PATCH, delete, and the answers to bad input — a 400 naming the field,
 * never a crash — and to a delete while holds are pending.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { setPendingHolds } from '../../contract/environment-store.database.js';
import { startTestOrchestrator, type TestOrchestrator } from '../admin-surface/cli.js';

let t: TestOrchestrator;
let token: string;

interface Reply {
  status: number;
  body: Record<string, any>;
}

async function api(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
  const res = await fetch(`${t.orch.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const named = (name: string, org = 'acme') => `/environments/${encodeURIComponent(name)}?org=${org}`;

beforeAll(async () => {
  t = await startTestOrchestrator('kici-env-api-');
  token = readLocalOrchestrator(`${t.tmp}/data`).token!;
});

afterAll(async () => {
  await t?.stop();
});

describe('creating environments', () => {
  it('returns the new environment with its id and the seed defaults', async () => {
    const r = await api('POST', '/environments', { orgId: 'acme', name: 'production' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      orgId: 'acme',
      name: 'production',
      type: 'fixed',
      globPattern: null,
      enabled: true,
      branchRestrictions: [],
      triggerTypeFilters: [],
      repoPatterns: [],
      minimumTrust: null,
      requiredReviewers: [],
      waitTimerSeconds: null,
      concurrencyLimit: null,
      concurrencyStrategy: 'queue',
      holdExpirySeconds: 3600,
      createdAt: expect.any(String),
      updatedAt: r.body.createdAt,
    });
  });

  it('takes every protection rule, and a glob', async () => {
    const rules = {
      branchRestrictions: ['main', 'release/*'],
      triggerTypeFilters: ['push'],
      repoPatterns: ['acme/*'],
      minimumTrust: 'known',
      requiredReviewers: ['alice', 'bob'],
      waitTimerSeconds: 300,
      concurrencyLimit: 1,
      concurrencyStrategy: 'cancel-pending',
      holdExpirySeconds: 86400,
      enabled: false,
    };
    const r = await api('POST', '/environments', { orgId: 'acme', name: 'review/*', globPattern: 'review/*', ...rules });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ type: 'glob', globPattern: 'review/*', ...rules });
  });

  it('answers 409 to a name the org already has, and takes it in another org', async () => {
    const r = await api('POST', '/environments', { orgId: 'acme', name: 'production' });
    expect(r).toEqual({ status: 409, body: { error: { code: 'conflict', message: 'an environment named production already exists in acme' } } });
    expect((await api('POST', '/environments', { orgId: 'other', name: 'production' })).status).toBe(201);
  });

  it.each([
    [{ name: 'x' }, 'orgId: '],
    [{ orgId: 'acme' }, 'name: '],
    [{ orgId: 'acme', name: 'has space' }, 'name: no spaces or control characters'],
    [{ orgId: 'ac me', name: 'x' }, 'orgId: '],
    [{ orgId: 'acme', name: 'x', waitTimer: 300 }, 'body: Unrecognized key: "waitTimer"'],
    [{ orgId: 'acme', name: 'x', waitTimerSeconds: '300' }, 'waitTimerSeconds: '],
    [{ orgId: 'acme', name: 'x', waitTimerSeconds: -1 }, 'waitTimerSeconds: '],
    [{ orgId: 'acme', name: 'x', concurrencyLimit: 2.5 }, 'concurrencyLimit: '],
    [{ orgId: 'acme', name: 'x', concurrencyStrategy: 'fifo' }, 'concurrencyStrategy: '],
    [{ orgId: 'acme', name: 'x', minimumTrust: 'admin' }, 'minimumTrust: '],
    [{ orgId: 'acme', name: 'x', holdExpirySeconds: 0 }, 'holdExpirySeconds: '],
    [{ orgId: 'acme', name: 'x', branchRestrictions: 'main' }, 'branchRestrictions: '],
    [{ orgId: 'acme', name: 'x', branchRestrictions: [''] }, 'branchRestrictions.0: '],
    [{ orgId: 'acme', name: 'x', requiredReviewers: [42] }, 'requiredReviewers.0: '],
    [{ orgId: 'acme', name: 'x', globPattern: '!main' }, 'globPattern: a negated glob'],
    [{ orgId: 'acme', name: 'x', type: 'glob' }, 'globPattern: required for a glob environment'],
    [{ orgId: 'acme', name: 'x', type: 'fixed', globPattern: 'x/*' }, 'globPattern: only a glob environment has one'],
    [{ orgId: 'acme', name: 'x'.repeat(201) }, 'name: '],
  ])('refuses %j with a 400 naming the field', async (body, message) => {
    const r = await api('POST', '/environments', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.message).toContain(message);
  });

  it('refuses a body that is not a JSON object', async () => {
    for (const raw of ['{', '[]', 'null', '"production"', '42']) {
      const r = await api('POST', '/environments', undefined, raw);
      expect(r.status, raw).toBe(400);
      expect(r.body.error.code).toMatch(/^(bad_request|invalid_request)$/);
    }
    // Still serving.
    expect((await fetch(`${t.orch.url}/health`)).status).toBe(200);
  });
});

describe('reading environments', () => {
  it('lists one org, oldest first; the org is required', async () => {
    const r = await api('GET', '/environments?org=acme');
    expect(r.status).toBe(200);
    expect(r.body.environments.map((e: { name: string }) => e.name)).toEqual(['production', 'review/*']);
    expect((await api('GET', '/environments?org=nobody')).body).toEqual({ environments: [] });
    expect(await api('GET', '/environments')).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: 'org: required (?org=…)' } } });
    expect((await api('GET', '/environments?org=a%20b')).status).toBe(400);
  });

  it('gets one by id, or by its (URL-encoded) name in an org', async () => {
    const byName = await api('GET', named('review/*'));
    expect(byName.status).toBe(200);
    expect(byName.body).toMatchObject({ name: 'review/*', type: 'glob' });
    expect(await api('GET', `/environments/${byName.body.id}`)).toEqual(byName);
    expect(await api('GET', `/environments/${byName.body.id}?org=acme`)).toEqual(byName);
    expect((await api('GET', `/environments/${byName.body.id}?org=other`)).status).toBe(404);
  });

  it('answers 404 for what is not there and 400 for a name without its org', async () => {
    expect(await api('GET', named('staging'))).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no environment staging in acme' } } });
    expect((await api('GET', '/environments/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    for (const ref of ['a%00b', 'two%20words', 'x'.repeat(300), '%E2%80%AE']) expect((await api('GET', `/environments/${ref}?org=acme`)).status, ref).toBe(404);
    expect((await api('GET', '/environments/production?org=')).status).toBe(400);
    expect(await api('GET', '/environments/production')).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'org: required to name an environment (or give its id)' } },
    });
  });
});

describe('changing environments', () => {
  it('changes only the fields given; null clears a rule', async () => {
    const before = (await api('POST', '/environments', { orgId: 'acme', name: 'staging', branchRestrictions: ['main'], waitTimerSeconds: 60, concurrencyLimit: 2 })).body;
    const r = await api('PATCH', named('staging'), { requiredReviewers: ['alice'], waitTimerSeconds: null, concurrencyLimit: null, concurrencyStrategy: 'cancel-pending' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      ...before,
      requiredReviewers: ['alice'],
      waitTimerSeconds: null,
      concurrencyLimit: null,
      concurrencyStrategy: 'cancel-pending',
      updatedAt: expect.any(String),
    });
    expect(Date.parse(r.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    expect((await api('GET', `/environments/${before.id}`)).body).toEqual(r.body);
  });

  it('renames, turns a glob on and off, and refuses a taken name', async () => {
    const env = (await api('POST', '/environments', { orgId: 'acme', name: 'previews' })).body;
    expect((await api('PATCH', `/environments/${env.id}`, { globPattern: 'preview/**' })).body).toMatchObject({ type: 'glob', globPattern: 'preview/**' });
    expect((await api('PATCH', `/environments/${env.id}`, { globPattern: null })).body).toMatchObject({ type: 'fixed', globPattern: null });
    expect((await api('PATCH', `/environments/${env.id}`, { name: 'preview-apps' })).body).toMatchObject({ name: 'preview-apps' });
    expect((await api('PATCH', `/environments/${env.id}`, { name: 'production' })).status).toBe(409);
    expect((await api('GET', `/environments/${env.id}`)).body.name).toBe('preview-apps');
  });

  it('refuses bad changes with a 400 and changes nothing', async () => {
    const before = (await api('GET', named('staging'))).body;
    for (const body of [{}, { enabled: 'yes' }, { type: 'glob' }, { holdExpirySeconds: -1 }, { orgId: 'other' }, { id: before.id }]) {
      const r = await api('PATCH', named('staging'), body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
    expect((await api('PATCH', named('staging'), undefined, '{')).status).toBe(400);
    expect((await api('PATCH', named('nowhere'), { enabled: false })).status).toBe(404);
    expect((await api('GET', named('staging'))).body).toEqual(before);
  });
});

describe('deleting environments', () => {
  it('is refused with 409 while holds are pending, naming how many; allowed once they are decided', async () => {
    const env = (await api('POST', '/environments', { orgId: 'acme', name: 'held' })).body;
    await setPendingHolds(t.orch.store, env.id, 3);
    expect(await api('DELETE', named('held'))).toEqual({
      status: 409,
      body: { error: { code: 'pending_holds', message: 'environment held has 3 pending held runs; approve or reject them (or let them expire) before deleting it' } },
    });
    expect((await api('GET', named('held'))).status).toBe(200);

    await setPendingHolds(t.orch.store, env.id, 0);
    const r = await api('DELETE', named('held'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: env.id, name: 'held', deleted: true });
    expect((await api('GET', named('held'))).status).toBe(404);
    expect((await api('DELETE', `/environments/${env.id}`)).status).toBe(404);
  });
});
