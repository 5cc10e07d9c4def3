/**
 * An environment's variables and per-source overrides through a real orchestrator (PGlite in its
 * data directory): `/api/v1/environments/:ref/variables|overrides` and `kici-admin env var|override`.
 * Set, list, unset; the lock (kept across a replaced value, listed with `--locked`); an override of
 * a locked key stored but reported as ignored; names refused with the field named (`KICI_X`,
 * `1ABC`); unknown environments and sources answered 404; the CLI's exit codes and value modes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { startTestOrchestrator, type TestOrchestrator } from '../admin-surface/cli.js';

let t: TestOrchestrator;
let token: string;
let envId: string;
let sourceId: string;

interface Reply {
  status: number;
  body: Record<string, any>;
}

async function api(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${t.orch.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const prod = (rest: string, query = '') => `/environments/production/${rest}?org=acme${query}`;

beforeAll(async () => {
  t = await startTestOrchestrator('kici-env-vars-');
  token = readLocalOrchestrator(`${t.tmp}/data`).token!;
  envId = (await t.adminJson(['env', 'create', 'production', '--org', 'acme'])).id as string;
  await t.adminJson(['env', 'create', 'staging', '--org', 'acme']);
  sourceId = (await t.adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', 'hooks', '--verification', 'none'])).id as string;
  await t.adminJson(['source', 'add', 'generic', '--org', 'other', '--name', 'elsewhere', '--verification', 'none']);
});

afterAll(async () => {
  await t?.stop();
});

describe('variables over the API', () => {
  it('sets (201, then 200), lists by key and unsets (404 once gone)', async () => {
    const created = await api('PUT', prod('variables/REGION'), { value: 'eu' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      environment: { id: envId, orgId: 'acme', name: 'production' },
      key: 'REGION',
      value: 'eu',
      locked: false,
      created: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await api('PUT', prod('variables/REGION'), { value: 'us' })).status).toBe(200);
    // By id as well as by name.
    expect((await api('PUT', `/environments/${envId}/variables/API_URL`, { value: 'https://api.example.com' })).status).toBe(201);

    const list = await api('GET', prod('variables'));
    expect(list.status).toBe(200);
    expect(list.body.environment).toEqual({ id: envId, orgId: 'acme', name: 'production' });
    expect(list.body.variables.map((v: any) => [v.key, v.value, v.locked])).toEqual([
      ['API_URL', 'https://api.example.com', false],
      ['REGION', 'us', false],
    ]);

    expect(await api('DELETE', prod('variables/REGION'))).toMatchObject({ status: 200, body: { key: 'REGION', deleted: true } });
    expect(await api('DELETE', prod('variables/REGION'))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found', message: 'no variable REGION in environment production' } },
    });
  });

  it('locks, keeps the lock across a replaced value, and unlocks when told', async () => {
    expect((await api('PUT', prod('variables/TIER'), { value: 'gold', locked: true })).body.locked).toBe(true);
    expect((await api('PUT', prod('variables/TIER'), { value: 'silver' })).body).toMatchObject({ value: 'silver', locked: true });
    expect((await api('PUT', prod('variables/TIER'), { value: 'silver', locked: false })).body.locked).toBe(false);
  });

  it.each([
    ['KICI_X', 'key: KICI_X: names starting with KICI_ (in any case) are reserved for run metadata'],
    ['kici_run_id', 'key: kici_run_id: names starting with KICI_'],
    ['1ABC', 'key: an environment variable name: a letter or "_" first'],
    ['A-B', 'key: an environment variable name'],
    ['X'.repeat(257), 'key: at most 256 characters'],
  ])('refuses the name %s with a 400 naming the key', async (key, message) => {
    const r = await api('PUT', prod(`variables/${encodeURIComponent(key)}`), { value: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.message).toContain(message);
  });

  it.each([
    [{}, 'value: '],
    [{ value: 1 }, 'value: '],
    [{ value: 'x'.repeat(64 * 1024 + 1) }, 'value: at most 65536 bytes'],
    [{ value: 'a\u0000b' }, 'value: must not contain a NUL character'],
    [{ value: 'x', lock: true }, 'body: '],
    [{ value: 'x', locked: 'yes' }, 'locked: '],
  ])('refuses the body %j with a 400 naming the field', async (body, message) => {
    const r = await api('PUT', prod('variables/OK'), body);
    expect(r.status).toBe(400);
    expect(r.body.error.message.startsWith(message)).toBe(true);
  });

  it('takes a value of exactly 64 KiB', async () => {
    expect((await api('PUT', prod('variables/BIG'), { value: 'x'.repeat(64 * 1024) })).status).toBe(201);
    expect((await api('DELETE', prod('variables/BIG'))).status).toBe(200);
  });

  it('answers 404 for an unknown environment, 400 for a name without its org', async () => {
    expect(await api('GET', '/environments/nowhere/variables?org=acme')).toMatchObject({ status: 404, body: { error: { message: 'no environment nowhere in acme' } } });
    expect((await api('PUT', '/environments/nowhere/variables/A?org=acme', { value: '1' })).status).toBe(404);
    expect((await api('DELETE', '/environments/00000000-0000-4000-8000-000000000000/variables/A')).status).toBe(404);
    expect((await api('GET', '/environments/production/variables')).status).toBe(400);
    // Another org's environment of the same name is another environment.
    expect((await api('GET', '/environments/production/variables?org=other')).status).toBe(404);
  });
});

describe('overrides over the API', () => {
  it('sets by source name or id, stores the id, lists and unsets', async () => {
    const created = await api('PUT', prod('overrides/hooks/LOG_LEVEL'), { value: 'debug' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ source: sourceId, sourceName: 'hooks', key: 'LOG_LEVEL', value: 'debug', ignored: false, created: true });
    expect(created.body).not.toHaveProperty('message');
    expect((await api('PUT', prod(`overrides/${sourceId}/LOG_LEVEL`), { value: 'trace' })).body).toMatchObject({ created: false, value: 'trace' });

    const all = await api('GET', prod('overrides'));
    expect(all.body.overrides).toEqual([
      { source: sourceId, sourceName: 'hooks', key: 'LOG_LEVEL', value: 'trace', ignored: false, createdAt: expect.any(String), updatedAt: expect.any(String) },
    ]);
    expect((await api('GET', prod('overrides', '&source=hooks'))).body.overrides).toHaveLength(1);
    expect((await api('GET', prod('overrides', `&source=${sourceId}`))).body.overrides).toHaveLength(1);

    expect(await api('DELETE', prod('overrides/hooks/LOG_LEVEL'))).toMatchObject({ status: 200, body: { source: sourceId, key: 'LOG_LEVEL', deleted: true } });
    expect(await api('DELETE', prod('overrides/hooks/LOG_LEVEL'))).toMatchObject({
      status: 404,
      body: { error: { message: 'no override of LOG_LEVEL for source hooks in environment production' } },
    });
  });

  it('stores an override of a locked key but reports it ignored, and says so when a key with overrides is locked', async () => {
    await api('PUT', prod('variables/REGION'), { value: 'eu', locked: true });
    const r = await api('PUT', prod('overrides/hooks/REGION'), { value: 'us' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ key: 'REGION', value: 'us', ignored: true });
    expect(r.body.message).toBe(
      'REGION is locked in environment production: the override is stored, but runs ignore it while REGION stays locked (a locked variable takes no source override)',
    );
    expect((await api('GET', prod('overrides'))).body.overrides).toEqual([expect.objectContaining({ key: 'REGION', ignored: true })]);

    await api('PUT', prod('variables/REGION'), { value: 'eu', locked: false });
    expect((await api('GET', prod('overrides'))).body.overrides).toEqual([expect.objectContaining({ key: 'REGION', ignored: false })]);
    const relocked = await api('PUT', prod('variables/REGION'), { value: 'eu', locked: true });
    expect(relocked.body).toMatchObject({ ignoredOverrides: 1, message: 'REGION is locked: 1 source override of it is ignored while it stays locked' });
    await api('DELETE', prod('overrides/hooks/REGION'));
  });

  it('answers 404 for an unknown source, or one of another org, and 400 for a bad key', async () => {
    for (const source of ['ghost', 'elsewhere', 'has%20space']) {
      const r = await api('PUT', prod(`overrides/${source}/A`), { value: '1' });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    expect((await api('PUT', prod('overrides/ghost/A'), { value: '1' })).body.error.message).toBe('no source ghost in acme');
    expect((await api('GET', prod('overrides', '&source=ghost'))).status).toBe(404);
    expect((await api('DELETE', prod('overrides/ghost/A'))).status).toBe(404);
    const bad = await api('PUT', prod('overrides/hooks/KICI_SHA'), { value: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('key: KICI_SHA: names starting with KICI_');
    expect((await api('PUT', '/environments/nowhere/overrides/hooks/A?org=acme', { value: '1' })).status).toBe(404);
  });

  it("keeps a removed source's overrides listed (by id) and removable", async () => {
    const doomed = (await t.adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', 'doomed', '--verification', 'none'])).id as string;
    await api('PUT', prod('overrides/doomed/A'), { value: '1' });
    expect((await t.admin(['source', 'remove', doomed, '--generic', '--yes'])).code).toBe(0);
    const listed = await api('GET', prod('overrides', `&source=${doomed}`));
    expect(listed.body.overrides).toEqual([expect.objectContaining({ source: doomed, sourceName: null, key: 'A' })]);
    expect((await api('DELETE', prod(`overrides/${doomed}/A`))).body).toMatchObject({ source: doomed, sourceName: null, deleted: true });
  });

  it('deleting the environment deletes its variables and overrides', async () => {
    const env = await t.adminJson(['env', 'create', 'short-lived', '--org', 'acme']);
    await api('PUT', `/environments/${env.id}/variables/A`, { value: '1' });
    await api('PUT', `/environments/${env.id}/overrides/hooks/A`, { value: '2' });
    await t.adminJson(['env', 'delete', env.id as string, '--yes']);
    const left = await t.orch.store.environmentVariables.forEnvironments([env.id as string], sourceId);
    expect(left.get(env.id as string)).toEqual({ variables: [], overrides: [] });
  });
});

describe('kici-admin env var', () => {
  it('sets, lists and unsets, in tables and as JSON', async () => {
    expect(await t.admin(['env', 'var', 'set', 'staging', 'API_URL', 'https://staging', '--org', 'acme'])).toMatchObject({
      code: 0,
      out: 'created variable API_URL in environment staging (acme)\n',
    });
    expect((await t.admin(['env', 'var', 'set', 'staging', 'REGION', 'eu', '--org', 'acme', '--locked'])).out).toBe(
      'created variable REGION in environment staging (acme), locked\n',
    );
    expect((await t.admin(['env', 'var', 'set', 'staging', 'REGION', 'us', '--org', 'acme'])).out).toBe('updated variable REGION in environment staging (acme), locked\n');

    const table = await t.admin(['env', 'var', 'list', 'staging', '--org', 'acme']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^KEY\s+VALUE\s+LOCKED\nAPI_URL\s+https:\/\/staging\s+false\nREGION\s+us\s+true\n$/);
    expect((await t.admin(['env', 'var', 'list', 'staging', '--org', 'acme', '--locked'])).out).toMatch(/^KEY\s+VALUE\s+LOCKED\nREGION\s+us\s+true\n$/);
    const json = await t.adminJson<any[]>(['env', 'var', 'list', 'staging', '--org', 'acme']);
    expect(json.map((v) => [v.key, v.value, v.locked])).toEqual([
      ['API_URL', 'https://staging', false],
      ['REGION', 'us', true],
    ]);

    expect(await t.admin(['env', 'var', 'unset', 'staging', 'API_URL', '--org', 'acme'])).toMatchObject({ code: 0, out: 'removed variable API_URL from environment staging (acme)\n' });
    expect(await t.admin(['env', 'var', 'unset', 'staging', 'API_URL', '--org', 'acme'])).toMatchObject({
      code: 1,
      err: 'kici-admin: no variable API_URL in environment staging (HTTP 404)\n',
    });
    expect((await t.admin(['env', 'var', 'list', 'nowhere', '--org', 'acme'])).code).toBe(1);
  });

  it('reads a value from a file, standard input or an environment variable, and shows long ones cut', async () => {
    const file = join(t.tmp, 'cert.pem');
    writeFileSync(file, 'line 1\nline 2\n');
    await t.adminJson(['env', 'var', 'set', 'staging', 'CERT', `@${file}`, '--org', 'acme']);
    await t.adminJson(['env', 'var', 'set', 'staging', 'PIPED', '--stdin', '--org', 'acme'], { stdin: 'from stdin\n' });
    process.env.KICI_TEST_VARIABLE_VALUE = 'y'.repeat(100);
    try {
      await t.adminJson(['env', 'var', 'set', 'staging', 'LONG', '--from-env', 'KICI_TEST_VARIABLE_VALUE', '--org', 'acme']);
    } finally {
      delete process.env.KICI_TEST_VARIABLE_VALUE;
    }
    const values = Object.fromEntries((await t.adminJson<any[]>(['env', 'var', 'list', 'staging', '--org', 'acme'])).map((v) => [v.key, v.value]));
    expect(values).toMatchObject({ CERT: 'line 1\nline 2', PIPED: 'from stdin', LONG: 'y'.repeat(100) });
    const table = (await t.admin(['env', 'var', 'list', 'staging', '--org', 'acme'])).out;
    expect(table).toMatch(/^CERT\s+line 1\\nline 2\s+false$/m);
    expect(table).toMatch(new RegExp(`^LONG\\s+${'y'.repeat(59)}…\\s+false$`, 'm'));
  });

  it.each([
    [['env', 'var', 'set', 'staging', 'A', '--org', 'acme']],
    [['env', 'var', 'set', 'staging', 'A', 'v', '--stdin', '--org', 'acme']],
    [['env', 'var', 'set', 'staging', 'A', 'v', '--locked', '--unlocked', '--org', 'acme']],
    [['env', 'var', 'set', 'staging']],
    [['env', 'var', 'unset', 'staging']],
    [['env', 'override', 'set', 'staging', 'A', 'v', '--org', 'acme']],
  ])('exits 2 on bad usage: %j', async (argv) => {
    const r = await t.admin(argv);
    expect(r.code).toBe(2);
    expect(r.err).not.toBe('');
  });

  it('exits 1 with the field named for a refused name', async () => {
    const kici = await t.admin(['env', 'var', 'set', 'staging', 'KICI_X', 'v', '--org', 'acme']);
    expect(kici.code).toBe(1);
    expect(kici.err).toContain('key: KICI_X: names starting with KICI_ (in any case) are reserved for run metadata');
    expect(kici.err).toContain('(HTTP 400)');
    const digit = await t.admin(['env', 'var', 'set', 'staging', '1ABC', 'v', '--org', 'acme']);
    expect(digit).toMatchObject({ code: 1 });
    expect(digit.err).toContain('key: an environment variable name');
  });
});

describe('kici-admin env override', () => {
  it('sets, lists and unsets, warning when the key is locked', async () => {
    expect(await t.admin(['env', 'override', 'set', 'staging', '--source', 'hooks', 'LOG_LEVEL', 'debug', '--org', 'acme'])).toMatchObject({
      code: 0,
      out: 'created override of LOG_LEVEL for source hooks in environment staging (acme)\n',
      err: '',
    });
    // REGION is locked in staging (above): stored, ignored, and said so on stderr.
    const locked = await t.admin(['env', 'override', 'set', 'staging', 'REGION', 'mars', '--source', sourceId, '--org', 'acme']);
    expect(locked.code).toBe(0);
    expect(locked.out).toBe('created override of REGION for source hooks in environment staging (acme) (ignored while the variable is locked)\n');
    expect(locked.err).toBe(
      'kici-admin: warning: REGION is locked in environment staging: the override is stored, but runs ignore it while REGION stays locked (a locked variable takes no source override)\n',
    );
    const asJson = await t.admin(['--json', 'env', 'override', 'set', 'staging', 'REGION', 'venus', '--source', 'hooks', '--org', 'acme']);
    expect(JSON.parse(asJson.out)).toMatchObject({ ignored: true, created: false, value: 'venus' });
    expect(asJson.err).toContain('warning: REGION is locked');

    const table = await t.admin(['env', 'override', 'list', 'staging', '--org', 'acme']);
    expect(table.out).toMatch(/^SOURCE\s+KEY\s+VALUE\s+IGNORED\s+SOURCEID\n/);
    expect(table.out).toMatch(new RegExp(`^hooks\\s+LOG_LEVEL\\s+debug\\s+no\\s+${sourceId}$`, 'm'));
    expect(table.out).toMatch(new RegExp(`^hooks\\s+REGION\\s+venus\\s+yes \\(locked\\)\\s+${sourceId}$`, 'm'));
    expect(await t.adminJson<any[]>(['env', 'override', 'list', 'staging', '--org', 'acme', '--source', 'hooks'])).toHaveLength(2);
    expect(await t.admin(['env', 'override', 'list', 'staging', '--org', 'acme', '--source', 'ghost'])).toMatchObject({
      code: 1,
      err: 'kici-admin: no source ghost in acme (HTTP 404)\n',
    });

    expect(await t.admin(['env', 'override', 'unset', 'staging', 'REGION', '--source', 'hooks', '--org', 'acme'])).toMatchObject({
      code: 0,
      out: 'removed override of REGION for source hooks from environment staging (acme)\n',
    });
    expect((await t.admin(['env', 'override', 'unset', 'staging', 'REGION', '--source', 'hooks', '--org', 'acme'])).code).toBe(1);
    expect((await t.admin(['env', 'override', 'set', 'staging', 'A', 'v', '--source', 'ghost', '--org', 'acme'])).err).toBe('kici-admin: no source ghost in acme (HTTP 404)\n');
  });

  it('the dispatch read sees what the commands set: locked keys keep their value', async () => {
    const staging = await t.adminJson(['env', 'get', 'staging', '--org', 'acme']);
    const { variablesOf } = await import('../../../src/environments/index.js');
    const set = (await t.orch.store.environmentVariables.forEnvironments([staging.id as string], sourceId)).get(staging.id as string)!;
    expect(variablesOf(set.variables, set.overrides, sourceId)).toMatchObject({ REGION: 'us', LOG_LEVEL: 'debug' });
  });
});
