/**
 * Secrets and environment bindings through a real orchestrator (PGlite in its data directory), by
 * the admin API and by `kici-admin secret …` / `env bind|unbind|bindings`: values go in by every
 * input mode and never come out — no API answer, no CLI output and no audit row holds one (each
 * value is recognisable and every answer is searched for it) — bad scopes and names are 400s naming
 * the field, an unknown environment is a 404, and what was set and bound resolves with the
 * orchestrator's own master key.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { createDatabaseSecretStore, createSecretResolver, resolveSecretKey } from '../../../src/secrets/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { startTestOrchestrator, type TestOrchestrator } from '../admin-surface/cli.js';
import { RecordingAdmin } from './recording-admin.js';

let t: TestOrchestrator;
let token: string;

/** Every value this file stores: none may appear in anything the orchestrator or the CLI says. */
const VALUES = {
  arg: 'sekrit-VALUE-arg-7f3a9c',
  file: 'sekrit-VALUE-file-51be02',
  env: 'sekrit-VALUE-env-c0ffee',
  stdin: 'sekrit-VALUE-stdin-9d8e7f',
  implicit: 'sekrit-VALUE-implicit-4242',
  api: 'sekrit-VALUE-api-abcdef',
  shared: 'sekrit-VALUE-shared-111111',
};
const recording = new RecordingAdmin(() => t, () => token);
const { seen } = recording;
const api = recording.api.bind(recording);
const admin = recording.admin.bind(recording);
const adminJson = recording.adminJson.bind(recording);

const secretPath = (scope: string, name: string, org = 'acme') => `/secrets/${encodeURIComponent(scope)}/${encodeURIComponent(name)}?org=${org}`;

beforeAll(async () => {
  t = await startTestOrchestrator('kici-secrets-');
  token = readLocalOrchestrator(`${t.tmp}/data`).token!;
  await api('POST', '/environments', { orgId: 'acme', name: 'production' });
  await api('POST', '/environments', { orgId: 'acme', name: 'review/*', type: 'glob', globPattern: 'review/*' });
});

afterAll(async () => {
  await t?.stop();
});

describe('secret set, list and unset', () => {
  it('takes the value as an argument, @file, --from-env, --stdin, and from standard input when none is given', async () => {
    expect(await adminJson(['secret', 'set', 'aws/prod', 'ARG_KEY', VALUES.arg, '--org', 'acme'])).toEqual({ orgId: 'acme', scope: 'aws/prod', name: 'ARG_KEY', set: true });
    const file = path.join(t.tmp, 'value.txt');
    writeFileSync(file, `${VALUES.file}\n`);
    const byFile = await admin(['secret', 'set', 'aws/prod', 'FILE_KEY', `@${file}`, '--org', 'acme']);
    expect(byFile).toEqual({ code: 0, out: 'set secret FILE_KEY in scope aws/prod (acme)\n', err: '' });
    process.env.KICI_TEST_SECRET_VALUE = VALUES.env;
    try {
      expect((await admin(['secret', 'set', 'aws/prod/db', 'ENV_KEY', '--from-env', 'KICI_TEST_SECRET_VALUE', '--org', 'acme'])).code).toBe(0);
    } finally {
      delete process.env.KICI_TEST_SECRET_VALUE;
    }
    expect((await admin(['secret', 'set', 'aws/shared', 'STDIN_KEY', '--stdin', '--org', 'acme'], { stdin: `${VALUES.stdin}\n` })).code).toBe(0);
    expect((await admin(['secret', 'set', 'aws/shared', 'IMPLICIT_KEY', '--org', 'acme'], { stdin: VALUES.implicit })).code).toBe(0);
    expect((await api('PUT', secretPath('aws/shared', 'AWS_REGION'), { value: VALUES.shared })).status).toBe(200);
    expect((await api('PUT', secretPath('aws/prod', 'AWS_REGION'), { value: VALUES.api })).status).toBe(200);
  });

  it('lists scopes and names, never values, by API and CLI', async () => {
    const listed = await api('GET', '/secrets?org=acme');
    expect(listed).toEqual({
      status: 200,
      body: {
        orgId: 'acme',
        scopes: [
          { scope: 'aws/prod', names: ['ARG_KEY', 'AWS_REGION', 'FILE_KEY'] },
          { scope: 'aws/prod/db', names: ['ENV_KEY'] },
          { scope: 'aws/shared', names: ['AWS_REGION', 'IMPLICIT_KEY', 'STDIN_KEY'] },
        ],
      },
    });
    expect((await api('GET', `/secrets?org=acme&scope=${encodeURIComponent('aws/prod')}`)).body.scopes.map((s: { scope: string }) => s.scope)).toEqual(['aws/prod', 'aws/prod/db']);
    expect(await adminJson(['secret', 'list', '--org', 'acme', '--scope', 'aws/prod/db'])).toEqual([{ scope: 'aws/prod/db', names: ['ENV_KEY'] }]);
    const table = await admin(['secret', 'list', '--org', 'acme']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^SCOPE\s+NAME$/);
    expect(table.out).toMatch(/^aws\/prod\/db\s+ENV_KEY$/m);
    expect((await admin(['secret', 'list', '--org', 'nobody'])).out).toBe('(none)\n');
  });

  it('stores only ciphertext', async () => {
    const { rows } = await sql<{ ciphertext: Uint8Array }>`select ciphertext from sealed_secrets where org_id = 'acme'`.execute(queryBuilderOf(t.orch.store));
    expect(rows.length).toBe(7);
    for (const row of rows) seen.push(Buffer.from(row.ciphertext).toString('latin1'));
  });

  it('unsets, and says 404 for what is not there', async () => {
    expect(await adminJson(['secret', 'unset', 'aws/shared', 'IMPLICIT_KEY', '--org', 'acme'])).toEqual({ orgId: 'acme', scope: 'aws/shared', name: 'IMPLICIT_KEY', deleted: true });
    const again = await admin(['secret', 'unset', 'aws/shared', 'IMPLICIT_KEY', '--org', 'acme']);
    expect(again).toMatchObject({ code: 1, err: 'kici-admin: no secret IMPLICIT_KEY in scope aws/shared of acme (HTTP 404)\n' });
    expect((await api('DELETE', secretPath('aws/nowhere', 'X'))).status).toBe(404);
  });

  it.each([
    ['scope', secretPath('source/src_1', 'token'), 'scope: source/ scopes are internal'],
    ['scope', secretPath('aws/../x', 'K'), 'scope: must not have a ".." segment'],
    ['scope', secretPath('aws//x', 'K'), 'scope: must not have an empty segment'],
    ['scope', secretPath('aws/*', 'K'), 'scope: segment "*"'],
    ['name', secretPath('aws', 'KICI_RUN_ID'), 'name: KICI_* names are run metadata'],
    ['name', secretPath('aws', '1ABC'), 'name: must be an environment variable name'],
    ['name', secretPath('aws', 'A-B'), 'name: must be an environment variable name'],
    ['org', '/secrets/aws/K?org=a%20b', 'org: letters, digits'],
    ['org', '/secrets/aws/K', 'org: required'],
  ])('PUT refuses a bad %s with a 400 naming it (%s)', async (_field, apiPath, message) => {
    const r = await api('PUT', apiPath, { value: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(message);
  });

  it('refuses a bad body with a 400 naming the field', async () => {
    expect((await api('PUT', secretPath('aws', 'K'), {})).body.error.message).toMatch(/^value: /);
    expect((await api('PUT', secretPath('aws', 'K'), { value: '' })).body.error.message).toBe('value: must not be empty');
    expect((await api('PUT', secretPath('aws', 'K'), { value: 'x', secret: 'y' })).status).toBe(400);
    expect((await api('PUT', secretPath('aws', 'K'), { value: 'x'.repeat(65_537) })).body.error.message).toContain('value: must be at most 65536');
    expect((await api('GET', '/secrets?org=acme&scope=source%2Fx')).body.error.message).toContain('scope: source/ scopes are internal');
  });

  it('exits 2 on bad usage and 1 with the API message on a refused value', async () => {
    expect((await admin(['secret', 'set', 'aws', 'K', 'v'])).code).toBe(2);
    expect((await admin(['secret', 'set', 'aws', 'K', 'v', '--stdin', '--org', 'acme'])).code).toBe(2);
    const refused = await admin(['secret', 'set', 'source/src_1', 'token', 'v', '--org', 'acme']);
    expect(refused).toMatchObject({ code: 1, err: "kici-admin: scope: source/ scopes are internal (sources' credentials) (HTTP 400)\n" });
    const kici = await admin(['secret', 'set', 'aws', 'KICI_JOB_ID', 'v', '--org', 'acme']);
    expect(kici.code).toBe(1);
    expect(kici.err).toContain('name: KICI_* names are run metadata');
  });
});

describe('env bind, bindings and unbind', () => {
  it('binds patterns by CLI and API, lists them, and refuses a second identical binding', async () => {
    const bound = await adminJson(['env', 'bind', 'production', 'aws/**', '--org', 'acme']);
    expect(bound).toMatchObject({ environment: { orgId: 'acme', name: 'production' }, scopePattern: 'aws/**', backend: null, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const human = await admin(['env', 'bind', 'production', 'aws/prod/**', '--backend', 'pg', '--org', 'acme']);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^bound environment production \(acme\) to aws\/prod\/\*\* \(backend pg\); binding [0-9a-f-]{36}\n$/);
    const byApi = await api('POST', `/environments/${encodeURIComponent('review/*')}/bindings?org=acme`, { scope: 'aws/shared' });
    expect(byApi.status).toBe(201);
    expect(byApi.body).toMatchObject({ environment: { name: 'review/*' }, scopePattern: 'aws/shared', backend: null });

    const again = await admin(['env', 'bind', 'production', 'aws/**', '--org', 'acme']);
    expect(again).toMatchObject({ code: 1, err: 'kici-admin: environment production is already bound to aws/** (HTTP 409)\n' });

    const list = await adminJson<{ scopePattern: string; backend: string | null }[]>(['env', 'bindings', 'production', '--org', 'acme']);
    expect(list.map((b) => [b.scopePattern, b.backend])).toEqual([['aws/**', null], ['aws/prod/**', 'pg']]);
    const table = await admin(['env', 'bindings', 'production', '--org', 'acme']);
    expect(table.out.split('\n')[0]).toMatch(/^SCOPEPATTERN\s+BACKEND\s+CREATEDAT\s+ID$/);
    expect(table.out).toMatch(/^aws\/\*\*\s+any\s/m);
    const byId = await api('GET', `/environments/${bound.environment.id}/bindings`);
    expect(byId.body.bindings.length).toBe(2);
  });

  it('resolves what was set and bound with the orchestrator\'s own key', async () => {
    const store = t.orch.store;
    const key = resolveSecretKey({ dataDir: path.join(t.tmp, 'data') }).key;
    const resolver = createSecretResolver({
      bindings: store.environmentBindings,
      secrets: createDatabaseSecretStore(store.sealedSecrets, { current: key }, new ManualClock(0)),
      scopes: store.sealedSecrets,
      environments: store.environments,
    });
    const production = (await store.environments.findByName('acme', 'production'))!;
    const review = (await store.environments.findByName('acme', 'review/*'))!;
    // Only production: aws/prod and aws/shared tie on depth, aws/prod is first in code-point order.
    expect(await resolver.resolve('acme', [production.id], ['AWS_REGION', 'ENV_KEY', 'STDIN_KEY'])).toEqual({
      AWS_REGION: VALUES.api,
      ENV_KEY: VALUES.env,
      STDIN_KEY: VALUES.stdin,
    });
    // The review environment binds aws/shared exactly: an exact binding wins the tie.
    expect(await resolver.resolve('acme', [production.id, review.id], ['AWS_REGION'])).toEqual({ AWS_REGION: VALUES.shared });
    await expect(resolver.resolve('acme', [review.id], ['ARG_KEY'])).rejects.toThrow(
      'secrets not found in any bound scope: ARG_KEY (org acme; environments: review/*; bindings searched: review/*: aws/shared)',
    );
  });

  it.each([
    ['scope', { scope: 'source/**' }, 'scope: source/ scopes are internal'],
    ['scope', { scope: '!aws/**' }, 'scope: a negated glob'],
    ['scope', { scope: 'aws/../**' }, 'scope: must not have a ".." segment'],
    ['scope', { scope: '' }, 'scope: must not be empty'],
    ['scope', {}, 'scope: '],
    ['backend', { scope: 'aws/**', backend: 'Vault!' }, 'backend: lower-case letters'],
    ['body', { scope: 'aws/**', pattern: 'x' }, 'Unrecognized key'],
  ])('bind refuses a bad %s with a 400 naming it: %j', async (_field, body, message) => {
    const r = await api('POST', '/environments/production/bindings?org=acme', body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(message);
  });

  it('answers 404 for an unknown environment or binding, 400 for a name without its org', async () => {
    expect((await api('GET', '/environments/nowhere/bindings?org=acme')).status).toBe(404);
    expect((await api('POST', '/environments/nowhere/bindings?org=acme', { scope: 'aws/**' })).body.error.message).toBe('no environment nowhere in acme');
    expect((await api('DELETE', '/environments/production/bindings/00000000-0000-4000-8000-000000000000?org=acme')).status).toBe(404);
    expect((await api('GET', '/environments/production/bindings')).status).toBe(400);
    // A backend nobody registered would be reached by nothing: refused when bound, not at dispatch.
    const unknownBackend = await api('POST', '/environments/production/bindings?org=acme', { scope: 'aws/**', backend: 'nope' });
    expect(unknownBackend).toMatchObject({ status: 404, body: { error: { message: expect.stringContaining('no secret backend nope') } } });
    const cli = await admin(['env', 'bind', 'nowhere', 'aws/**', '--org', 'acme']);
    expect(cli).toMatchObject({ code: 1, err: 'kici-admin: no environment nowhere in acme (HTTP 404)\n' });
    expect((await admin(['env', 'unbind', 'production', 'gcp/**', '--org', 'acme'])).err).toBe('kici-admin: environment production (acme) has no binding gcp/**\n');
  });

  it('unbinds by pattern (the any-backend binding unless --backend says otherwise)', async () => {
    await api('POST', '/environments/production/bindings?org=acme', { scope: 'aws/**', backend: 'pg' });
    const first = await admin(['env', 'unbind', 'production', 'aws/**', '--org', 'acme']);
    expect(first).toEqual({ code: 0, out: 'unbound aws/** (any backend) from environment production (acme)\n', err: '' });
    expect(await adminJson(['env', 'unbind', 'production', 'aws/**', '--backend', 'pg', '--org', 'acme'])).toMatchObject({ scopePattern: 'aws/**', backend: 'pg', deleted: true });
    const left = await adminJson<{ scopePattern: string }[]>(['env', 'bindings', 'production', '--org', 'acme']);
    expect(left.map((b) => b.scopePattern)).toEqual(['aws/prod/**']);
  });
});

describe('the audit', () => {
  it('records every set, unset, bind and unbind with the caller, scopes and names only', async () => {
    const events = (await api('GET', '/audit?limit=500')).body.events as { action: string; actor: string; subject: { id: string }; details: Record<string, unknown>; orgId: string }[];
    const ours = events.filter((e) => e.action.startsWith('secret.') || e.action.startsWith('environment.'));
    expect(ours.filter((e) => e.action === 'secret.set').length).toBe(7);
    expect(ours.filter((e) => e.action === 'secret.unset').map((e) => e.subject.id)).toEqual(['aws/shared/IMPLICIT_KEY']);
    expect(ours.filter((e) => e.action === 'environment.bind').length).toBe(4);
    expect(ours.filter((e) => e.action === 'environment.unbind').length).toBe(2);
    // One caller did all of it: the first-start admin token, by its name.
    const callers = new Set(ours.map((e) => e.actor));
    expect(callers.size).toBe(1);
    expect(callers.has('system')).toBe(false);
    expect(ours.find((e) => e.action === 'secret.set' && e.subject.id === 'aws/prod/ARG_KEY')).toMatchObject({ details: { scope: 'aws/prod', name: 'ARG_KEY' }, orgId: 'acme' });
    const cli = await admin(['audit', '--action', 'secret.set']);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('aws/prod/ARG_KEY');
  });

  it('no API answer, CLI output, audit row or stored ciphertext holds any value', () => {
    const everything = seen.join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const value of Object.values(VALUES)) expect(everything).not.toContain(value);
    // Not even a recognisable piece of one.
    expect(everything).not.toContain('sekrit-VALUE');
  });
});
