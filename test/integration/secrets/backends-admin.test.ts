/**
 * Secret backends through a real orchestrator (PGlite in its data directory), by the admin API and
 * by `kici-admin backend add|list|test|remove` as seed 000 writes them, against the Vault
 * stand-in: the credential goes in as a value, `@file`, `--from-env` or `--stdin` and never comes
 * out — no API answer, no CLI output, no audit row and no database column holds it (every answer
 * is searched for it) — names, types and configs are checked (400 naming the field, `pg` refused,
 * 409 for a name taken), `test` reports and records the health, and a backend an environment
 * binding names is not removed until it is unbound.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { VaultStandIn } from '../../support/vault-standin.js';
import { startTestOrchestrator, type TestOrchestrator } from '../admin-surface/cli.js';
import { RecordingAdmin } from './recording-admin.js';

let t: TestOrchestrator;
let vault: VaultStandIn;
let adminToken: string;

/** Every credential this file hands over: none may appear in anything the orchestrator or the CLI says. */
const CREDENTIALS = {
  root: 'hvs.ROOT-standin-token-91c2d7',
  file: 'hvs.FILE-token-0a1b2c',
  env: 'hvs.ENV-token-3d4e5f',
  stdin: 'hvs.STDIN-token-6a7b8c',
  secretId: 'approle-SECRET-id-9e8d7c',
};
const recording = new RecordingAdmin(() => t, () => adminToken);
const { seen } = recording;
const api = recording.api.bind(recording);
const admin = recording.admin.bind(recording);
const adminJson = recording.adminJson.bind(recording);

const vaultArgs = (name: string, ...rest: string[]) => ['backend', 'add', name, '--type', 'vault', '--vault-url', vault.url, '--vault-mount-path', 'secret', '--vault-base-path', 'kici/secrets', ...rest];

beforeAll(async () => {
  vault = await VaultStandIn.start({ token: CREDENTIALS.root, approle: { roleId: 'kici-role', secretId: CREDENTIALS.secretId } });
  vault.put('kici/secrets/acme/deploy/prod', { DEPLOY_KEY: 'from-vault' });
  t = await startTestOrchestrator('kici-backends-');
  adminToken = readLocalOrchestrator(`${t.tmp}/data`).token!;
  await api('POST', '/environments', { orgId: 'acme', name: 'production' });
});

afterAll(async () => {
  await t?.stop();
  await vault?.close();
});

describe('backend add', () => {
  it('takes seed 000’s command as written', async () => {
    const r = await admin(['backend', 'add', 'my-vault', '--type', 'vault', '--vault-url', vault.url, '--vault-auth-method', 'token', '--vault-token', CREDENTIALS.root, '--vault-mount-path', 'secret', '--vault-base-path', 'kici/secrets']);
    expect(r).toEqual({
      code: 0,
      out: `added secret backend my-vault (vault ${vault.url}, token auth, mount secret, base path kici/secrets, scopes **); check it with: kici-admin backend test my-vault\n`,
      err: '',
    });
  });

  it('takes the token from @file, --from-env and --stdin, and AppRole credentials', async () => {
    const file = path.join(t.tmp, 'vault-token');
    writeFileSync(file, `${CREDENTIALS.file}\n`);
    expect(await adminJson(vaultArgs('by-file', '--vault-token', `@${file}`, '--scope-filter', 'deploy/**'))).toMatchObject({ name: 'by-file', scopeFilter: 'deploy/**', authMethod: 'token' });
    process.env.KICI_TEST_VAULT_TOKEN = CREDENTIALS.env;
    try {
      expect(await adminJson(vaultArgs('by-env', '--from-env', 'KICI_TEST_VAULT_TOKEN', '--vault-namespace', 'team-a'))).toMatchObject({ name: 'by-env', namespace: 'team-a' });
    } finally {
      delete process.env.KICI_TEST_VAULT_TOKEN;
    }
    expect(await adminJson(vaultArgs('by-stdin', '--stdin'), { stdin: `${CREDENTIALS.stdin}\n` })).toMatchObject({ name: 'by-stdin' });
    expect(await adminJson(vaultArgs('by-role', '--vault-auth-method', 'approle', '--vault-role-id', 'kici-role', '--vault-secret-id', CREDENTIALS.secretId))).toMatchObject({ name: 'by-role', authMethod: 'approle' });
  });

  it('refuses bad usage (exit 2) and bad input (the API’s 400 naming the field)', async () => {
    expect((await admin(vaultArgs('no-token'))).code).toBe(2);
    expect((await admin(vaultArgs('two', '--vault-token', 'a', '--stdin'))).code).toBe(2);
    expect((await admin(['backend', 'add', 'x', '--type', 'pg', '--vault-url', vault.url, '--vault-base-path', 'b', '--vault-token', 't'])).code).toBe(2);
    expect((await admin(vaultArgs('role-only', '--vault-auth-method', 'approle', '--vault-role-id', 'r'))).code).toBe(2);
    const pg = await admin(vaultArgs('pg', '--vault-token', 'x'));
    expect(pg).toMatchObject({ code: 1, err: 'kici-admin: name: pg is the database backend, always there (HTTP 400)\n' });
    const taken = await admin(vaultArgs('my-vault', '--vault-token', 'x'));
    expect(taken).toMatchObject({ code: 1, err: 'kici-admin: a secret backend named my-vault exists already (HTTP 409)\n' });
    const cases: [unknown, string][] = [
      [{ name: 'Bad Name', type: 'vault', vault: { url: vault.url, token: 't', basePath: 'b' } }, 'name: lower-case letters'],
      [{ name: 'x', type: 'pg', vault: { url: vault.url, token: 't', basePath: 'b' } }, 'type: only "vault" backends can be added'],
      [{ name: 'x', type: 'vault', vault: { url: 'ftp://vault', token: 't', basePath: 'b' } }, 'vault.url: must be an http:// or https:// URL'],
      [{ name: 'x', type: 'vault', vault: { url: vault.url, token: 't', basePath: '../b' } }, 'vault.basePath: segment ".."'],
      [{ name: 'x', type: 'vault', vault: { url: vault.url, basePath: 'b' } }, 'vault.token: required with authMethod "token"'],
      [{ name: 'x', type: 'vault', vault: { url: vault.url, authMethod: 'approle', roleId: 'r', basePath: 'b' } }, 'vault.secretId: required with authMethod "approle"'],
      [{ name: 'x', type: 'vault', scopeFilter: 'source/**', vault: { url: vault.url, token: 't', basePath: 'b' } }, 'scopeFilter: source/ scopes are internal'],
      [{ name: 'x', type: 'vault', vault: { url: vault.url, token: 't', basePath: 'b', vault_token: 'y' } }, 'vault: Unrecognized key'],
    ];
    for (const [body, message] of cases) {
      const r = await api('POST', '/backends', body);
      expect(r.status, message).toBe(400);
      expect(r.body.error.message).toContain(message);
    }
  });
});

describe('backend list and test', () => {
  it('lists url, mount, base path, auth method and health, never a credential', async () => {
    const list = await adminJson<Record<string, unknown>[]>(['backend', 'list']);
    expect(list.map((b) => b.name)).toEqual(['by-env', 'by-file', 'by-role', 'by-stdin', 'my-vault']);
    expect(list.find((b) => b.name === 'my-vault')).toMatchObject({ type: 'vault', url: vault.url, authMethod: 'token', mountPath: 'secret', basePath: 'kici/secrets', namespace: null, scopeFilter: '**', enabled: true, healthStatus: 'unknown', lastHealthCheckAt: null });
    expect(Object.keys(list[0]!).sort()).toEqual(['authMethod', 'basePath', 'createdAt', 'enabled', 'healthStatus', 'id', 'lastError', 'lastHealthCheckAt', 'mountPath', 'name', 'namespace', 'scopeFilter', 'type', 'updatedAt', 'url']);
    const table = await admin(['backend', 'list']);
    expect(table.out.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+URL\s+AUTH\s+MOUNT\s+BASE_PATH\s+NAMESPACE\s+SCOPE_FILTER\s+ENABLED\s+HEALTH\s+CHECKED$/);
    expect(table.out).toMatch(new RegExp(`^my-vault\\s+vault\\s+${vault.url.replace(/\./g, '\\.')}\\s+token\\s+secret\\s+kici/secrets\\s+-\\s+\\*\\*\\s+true\\s+unknown\\s+-$`, 'm'));
    expect((await api('GET', '/backends/my-vault')).body).toMatchObject({ name: 'my-vault', url: vault.url });
    expect((await api('GET', '/backends/nope')).status).toBe(404);
  });

  it('tests a backend, prints the checks and records its health', async () => {
    const ok = await admin(['backend', 'test', 'my-vault']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok {6}sys\/health: HTTP 200: active and unsealed \(Vault 1\.15\.0\+standin\)\nok {6}list base path: HTTP 200: the token may list secret\/metadata\/kici\/secrets\/\nmy-vault: healthy\n$/);
    expect((await adminJson(['backend', 'test', 'by-role'])).healthy).toBe(true);
    // The file's token is not one the stand-in knows: Vault says 403 and the test says so.
    const refused = await admin(['backend', 'test', 'by-file']);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('FAILED  list base path: Vault backend by-file');
    expect(refused.out).toContain('HTTP 403 (permission denied)');
    expect(refused.out).toMatch(/by-file: unhealthy\n$/);
    const list = await adminJson<{ name: string; healthStatus: string; lastError: string | null; lastHealthCheckAt: string | null }[]>(['backend', 'list']);
    expect(list.find((b) => b.name === 'my-vault')).toMatchObject({ healthStatus: 'healthy', lastError: null, lastHealthCheckAt: expect.any(String) });
    expect(list.find((b) => b.name === 'by-file')).toMatchObject({ healthStatus: 'unhealthy', lastError: expect.stringContaining('HTTP 403') });
    vault.failWith(503);
    try {
      const sealed = await api('POST', '/backends/my-vault/test');
      expect(sealed.body).toMatchObject({ name: 'my-vault', healthy: false, sealed: true, error: 'sys/health: HTTP 503: sealed (Vault 1.15.0+standin)' });
    } finally {
      vault.failWith(null);
    }
    expect((await api('POST', '/backends/nope/test')).status).toBe(404);
  });
});

describe('backend remove', () => {
  it('is refused while an environment binding names the backend, and works once it is unbound', async () => {
    expect((await admin(['env', 'bind', 'production', 'deploy/**', '--backend', 'by-stdin', '--org', 'acme'])).code).toBe(0);
    const refused = await admin(['backend', 'remove', 'by-stdin']);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe('kici-admin: secret backend by-stdin is named by 1 environment binding (acme/production); unbind them first (kici-admin env unbind <env> <pattern> --backend by-stdin) (HTTP 409)\n');
    expect((await admin(['env', 'unbind', 'production', 'deploy/**', '--backend', 'by-stdin', '--org', 'acme'])).code).toBe(0);
    expect(await admin(['backend', 'remove', 'by-stdin'])).toEqual({ code: 0, out: 'removed secret backend by-stdin\n', err: '' });
    expect((await admin(['backend', 'remove', 'by-stdin'])).err).toBe('kici-admin: no secret backend by-stdin (HTTP 404)\n');
    expect((await adminJson<{ name: string }[]>(['backend', 'list'])).map((b) => b.name)).not.toContain('by-stdin');
  });

  it('audits create and remove with the caller’s name, without a credential', async () => {
    const created = await adminJson<{ action: string; subject: { name: string }; details: Record<string, unknown> }[]>(['audit', '--action', 'secret_backend.create']);
    expect(created.map((e) => e.subject.name).sort()).toEqual(['by-env', 'by-file', 'by-role', 'by-stdin', 'my-vault']);
    expect(created.find((e) => e.subject.name === 'my-vault')!.details).toEqual({ name: 'my-vault', type: 'vault', url: vault.url, authMethod: 'token', mountPath: 'secret', basePath: 'kici/secrets', namespace: null, scopeFilter: '**' });
    const removed = await adminJson<{ subject: { name: string }; details: Record<string, unknown> }[]>(['audit', '--action', 'secret_backend.remove']);
    expect(removed.map((e) => e.subject.name)).toEqual(['by-stdin']);
    expect(removed[0]!.details).toMatchObject({ name: 'by-stdin', url: vault.url });
  });
});

describe('nothing ever shows a credential', () => {
  it('the table holds ciphertext only', async () => {
    const { rows } = await sql<{ name: string; config_ciphertext: Uint8Array; scope_filter: string }>`select name, config_ciphertext, scope_filter from secret_backends`.execute(queryBuilderOf(t.orch.store));
    expect(rows.length).toBe(4);
    for (const row of rows) seen.push(Buffer.from(row.config_ciphertext).toString('latin1'));
    const audit = await sql<{ details: unknown }>`select details from audit_events`.execute(queryBuilderOf(t.orch.store));
    seen.push(JSON.stringify(audit.rows));
  });

  it('in any answer, output, audit row or column', () => {
    const all = seen.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const [what, credential] of Object.entries(CREDENTIALS)) expect(all.includes(credential), what).toBe(false);
  });
});
