/**
 * The Vault KV v2 backend over the Vault stand-in: scopes listed by walking LIST recursively (a
 * scope that is also a folder, internal and invalid paths skipped, the scope filter applied), names
 * and values read from one KV secret per scope, a missing scope empty, and every failure — a wrong
 * token (403), a sealed (503) or broken (500) Vault, no answer within the timeout, a refused
 * connection, a failed AppRole login — a VaultError naming the backend and the status or cause,
 * never the token. Through the resolver, a Vault that is down fails the resolution naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSecretResolver,
  SecretResolutionError,
  type SecretStore,
  vaultBackend,
  type VaultConfig,
  vaultConfigProblems,
  VaultError,
  vaultTokenCache,
} from '../../../src/secrets/index.js';
import { VaultStandIn } from '../../support/vault-standin.js';

let vault: VaultStandIn;

const config = (over: Partial<VaultConfig> = {}): VaultConfig => ({ url: vault.url, auth: { method: 'token', token: vault.token }, mountPath: 'secret', basePath: 'kici/secrets', ...over });
const backend = (over: Partial<VaultConfig> = {}, options: { scopeFilter?: string; timeoutMs?: number } = {}) => vaultBackend({ name: 'my-vault', config: config(over), ...options });

/** The rejection of `p`, which must be a VaultError. */
async function failure(p: Promise<unknown>): Promise<VaultError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VaultError);
  return e as VaultError;
}

beforeAll(async () => {
  vault = await VaultStandIn.start({ approle: { roleId: 'kici-role', secretId: 'kici-secret-id-5f1e', leaseSeconds: 600 } });
  vault.put('kici/secrets/acme/aws/prod', { DEPLOY_KEY: 'vault-deploy-key-1', PORT: 5432, DEBUG: false });
  vault.put('kici/secrets/acme/aws/prod/db', { PASSWORD: 'vault-db-password' });
  vault.put('kici/secrets/acme/aws/shared', { REGION: 'eu-west-1' });
  vault.put('kici/secrets/acme/source/abc', { token: 'internal' });
  vault.put('kici/secrets/acme/.hidden', { X: 'x' });
  vault.put('kici/secrets/acme/nested', { OBJ: { a: 1 } });
  vault.put('kici/secrets/other/aws/prod', { DEPLOY_KEY: 'other-org' });
});

afterAll(async () => {
  await vault?.close();
});

describe('reading', () => {
  it('lists the org’s scopes recursively: a scope that is a folder too, never source/ or dot segments, never another org', async () => {
    expect(await backend().listScopes('acme')).toEqual(['aws/prod', 'aws/prod/db', 'aws/shared', 'nested']);
    expect(await backend().listScopes('other')).toEqual(['aws/prod']);
    expect(vault.requests.filter((r) => r.method === 'LIST').every((r) => r.withToken)).toBe(true);
  });

  it('applies the scope filter', async () => {
    expect(await backend({}, { scopeFilter: 'aws/prod/**' }).listScopes('acme')).toEqual(['aws/prod', 'aws/prod/db']);
    expect(await backend({}, { scopeFilter: 'aws/shared' }).listScopes('acme')).toEqual(['aws/shared']);
  });

  it('gives a scope’s names and the values asked for (numbers and booleans as text)', async () => {
    expect(await backend().names('acme', 'aws/prod')).toEqual(['DEBUG', 'DEPLOY_KEY', 'PORT']);
    expect(await backend().read('acme', 'aws/prod', ['DEPLOY_KEY', 'PORT', 'DEBUG', 'ABSENT'])).toEqual({ DEPLOY_KEY: 'vault-deploy-key-1', PORT: '5432', DEBUG: 'false' });
    const get = vault.requests.filter((r) => r.method === 'GET').at(-1)!;
    expect(get.path).toBe('/v1/secret/data/kici/secrets/acme/aws/prod');
  });

  it('a value that is an object is refused, naming the key and not the value', async () => {
    const e = await failure(backend().read('acme', 'nested', ['OBJ']));
    expect(e.message).toBe(`Vault backend my-vault (${vault.url}): OBJ in scope nested of acme is not a string, number or boolean`);
  });

  it('a missing scope, a deleted one, an org with nothing: empty', async () => {
    expect(await backend().names('acme', 'nope')).toEqual([]);
    expect(await backend().read('acme', 'nope', ['A'])).toEqual({});
    vault.put('kici/secrets/acme/retired', { OLD: 'x' });
    vault.delete('kici/secrets/acme/retired');
    expect(await backend().names('acme', 'retired')).toEqual([]);
    expect(await backend().listScopes('nobody')).toEqual([]);
  });

  it('sends the namespace header when configured', async () => {
    const ns = await VaultStandIn.start({ namespace: 'team-a' });
    try {
      ns.put('kici/secrets/acme/app', { K: 'v' });
      const b = vaultBackend({ name: 'ns-vault', config: { url: ns.url, auth: { method: 'token', token: ns.token }, mountPath: 'secret', basePath: 'kici/secrets', namespace: 'team-a' } });
      expect(await b.listScopes('acme')).toEqual(['app']);
      expect(await b.read('acme', 'app', ['K'])).toEqual({ K: 'v' });
      expect(ns.requests.every((r) => r.namespace === 'team-a')).toBe(true);
      const without = vaultBackend({ name: 'ns-vault', config: { url: ns.url, auth: { method: 'token', token: ns.token }, mountPath: 'secret', basePath: 'kici/secrets' } });
      expect((await failure(without.listScopes('acme'))).status).toBe(403);
    } finally {
      await ns.close();
    }
  });

  it('refuses an org id that is not one path segment, before any request', async () => {
    const before = vault.requests.length;
    for (const org of ['..', '.', 'a/b', '']) expect((await failure(backend().listScopes(org))).message).toMatch(/cannot name a Vault folder/);
    expect(vault.requests.length).toBe(before);
  });
});

describe('failures name the backend and the status or cause, never the token', () => {
  it('a wrong token: 403 permission denied', async () => {
    const e = await failure(backend({ auth: { method: 'token', token: 'hvs.wrong-token-abcdef' } }).listScopes('acme'));
    expect(e.status).toBe(403);
    expect(e.message).toBe(`Vault backend my-vault (${vault.url}): listing scopes of acme (LIST secret/metadata/kici/secrets/acme/): HTTP 403 (permission denied)`);
    expect(e.message).not.toContain('hvs.wrong-token-abcdef');
    const read = await failure(backend({ auth: { method: 'token', token: 'hvs.wrong-token-abcdef' } }).read('acme', 'aws/prod', ['DEPLOY_KEY']));
    expect(read.message).toMatch(/reading scope aws\/prod of acme \(GET secret\/data\/kici\/secrets\/acme\/aws\/prod\): HTTP 403 \(permission denied\)$/);
  });

  it('a sealed Vault: 503, and a broken one: 500', async () => {
    vault.failWith(503);
    try {
      const e = await failure(backend().listScopes('acme'));
      expect(e.status).toBe(503);
      expect(e.message).toMatch(/^Vault backend my-vault \(http:\/\/127\.0\.0\.1:\d+\): listing scopes of acme .*: HTTP 503 \(Vault is sealed\)$/);
      vault.failWith(500, 'internal error');
      expect((await failure(backend().read('acme', 'aws/prod', ['DEPLOY_KEY']))).message).toMatch(/HTTP 500 \(internal error\)$/);
    } finally {
      vault.failWith(null);
    }
  });

  it('no answer within the timeout', async () => {
    vault.hang();
    try {
      const started = Date.now();
      const e = await failure(backend({}, { timeoutMs: 300 }).listScopes('acme'));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(e.status).toBeNull();
      expect(e.message).toBe(`Vault backend my-vault (${vault.url}): LIST secret/metadata/kici/secrets/acme/: no answer within 300 ms`);
    } finally {
      vault.heal();
    }
  });

  it('the default timeout is 5 s', async () => {
    vault.hang();
    try {
      const started = Date.now();
      const e = await failure(backend().names('acme', 'aws/prod'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
      expect(e.message).toMatch(/no answer within 5000 ms$/);
    } finally {
      vault.heal();
    }
  }, 15_000);

  it('a refused connection', async () => {
    await vault.stop();
    try {
      const e = await failure(backend().listScopes('acme'));
      expect(e.message).toBe(`Vault backend my-vault (${vault.url}): LIST secret/metadata/kici/secrets/acme/: connection refused (ECONNREFUSED)`);
    } finally {
      await vault.restart();
    }
    expect(await backend().listScopes('other')).toEqual(['aws/prod']);
  });

  it('a KV mount that is not there (a 404 naming the route) is an error, not an empty store', async () => {
    const e = await failure(backend({ mountPath: 'kv' }).listScopes('acme'));
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/: HTTP 404 \(no handler for route "kv\/metadata\/kici\/secrets\/acme\/?"\. route entry not found\.\)$/);
    expect((await backend({ mountPath: 'kv' }).health()).error).toMatch(/^list base path: .*HTTP 404 \(no handler for route/);
  });
});

describe('AppRole', () => {
  const approle = (secretId = 'kici-secret-id-5f1e') => ({ auth: { method: 'approle' as const, roleId: 'kici-role', secretId } });

  it('logs in once, keeps the token between backend objects sharing a cache, and logs in again after a 403', async () => {
    const tokens = vaultTokenCache();
    const logins = vault.logins;
    const make = () => vaultBackend({ name: 'role-vault', config: config(approle()), tokens });
    expect(await make().read('acme', 'aws/shared', ['REGION'])).toEqual({ REGION: 'eu-west-1' });
    expect(await make().names('acme', 'aws/prod/db')).toEqual(['PASSWORD']);
    expect(vault.logins).toBe(logins + 1);
    const login = vault.requests.find((r) => r.path === '/v1/auth/approle/login')!;
    expect(login).toMatchObject({ method: 'POST', withToken: false });
    vault.revokeIssuedTokens();
    expect(await make().read('acme', 'aws/shared', ['REGION'])).toEqual({ REGION: 'eu-west-1' });
    expect(vault.logins).toBe(logins + 2);
  });

  it('renews the token 30 s before its lease ends', async () => {
    let now = 1_000_000;
    const tokens = vaultTokenCache();
    const logins = vault.logins;
    const make = () => vaultBackend({ name: 'role-vault', config: config(approle()), tokens, now: () => now });
    await make().names('acme', 'aws/shared');
    now += 600_000 - 31_000;
    await make().names('acme', 'aws/shared');
    expect(vault.logins).toBe(logins + 1);
    now += 2_000;
    await make().names('acme', 'aws/shared');
    expect(vault.logins).toBe(logins + 2);
  });

  it('a refused login names the backend and Vault’s reason, never the secret id', async () => {
    const e = await failure(vaultBackend({ name: 'role-vault', config: config(approle('wrong-secret-id-0000')) }).listScopes('acme'));
    expect(e.status).toBe(400);
    expect(e.message).toBe(`Vault backend role-vault (${vault.url}): AppRole login (POST auth/approle/login): HTTP 400 (invalid role or secret ID)`);
    expect(e.message).not.toContain('wrong-secret-id-0000');
  });
});

describe('health', () => {
  it('healthy: sys/health unsealed and the token may list the base path', async () => {
    const report = await backend().health();
    expect(report).toMatchObject({ healthy: true, sealed: false, version: '1.15.0+standin', error: null });
    expect(report.checks.map((c) => [c.check, c.ok])).toEqual([
      ['sys/health', true],
      ['list base path', true],
    ]);
    const health = vault.requests.filter((r) => r.path === '/v1/sys/health').at(-1)!;
    expect(health.withToken).toBe(false);
  });

  it('a wrong token, a sealed Vault, nothing listening: unhealthy with the reason', async () => {
    const wrong = await backend({ auth: { method: 'token', token: 'hvs.not-it-000' } }).health();
    expect(wrong.healthy).toBe(false);
    expect(wrong.error).toMatch(/^list base path: .*HTTP 403 \(permission denied\)$/);
    expect(JSON.stringify(wrong)).not.toContain('hvs.not-it-000');
    vault.failWith(503);
    try {
      const sealed = await backend().health();
      expect(sealed).toMatchObject({ healthy: false, sealed: true });
      expect(sealed.error).toBe('sys/health: HTTP 503: sealed (Vault 1.15.0+standin)');
    } finally {
      vault.failWith(null);
    }
    const down = await vaultBackend({ name: 'gone', config: config({ url: 'http://127.0.0.1:1' }) }).health();
    expect(down.healthy).toBe(false);
    expect(down.checks.every((c) => !c.ok)).toBe(true);
  });
});

describe('configuration', () => {
  it('names each problem by field', () => {
    expect(vaultConfigProblems(config())).toEqual([]);
    expect(vaultConfigProblems({ url: 'ftp://x', auth: { method: 'token', token: '' }, mountPath: '/secret', basePath: 'kici/../x', namespace: 'a b' })).toEqual([
      { field: 'url', problem: 'must be an http:// or https:// URL' },
      { field: 'mountPath', problem: 'must not have an empty segment (a leading, trailing or doubled "/")' },
      { field: 'basePath', problem: 'segment "..": letters, digits, ".", "_" and "-" only, not starting with "."' },
      { field: 'namespace', problem: 'segment "a b": letters, digits, ".", "_" and "-" only, not starting with "."' },
      { field: 'token', problem: 'must not be empty' },
    ]);
    expect(vaultConfigProblems(config({ url: 'https://user:pw@vault.example' }))).toEqual([{ field: 'url', problem: 'must not hold credentials' }]);
  });
});

describe('through the resolver', () => {
  const noDatabaseSecrets: SecretStore = { put: async () => {}, get: async () => null, delete: async () => false, names: async () => [] };
  const resolverWith = (vaultName: string, b = backend()) =>
    createSecretResolver({
      bindings: { listForEnvironments: async (orgId) => [{ id: 'b1', orgId, environmentId: 'env-1', scopePattern: 'aws/**', backend: vaultName, createdAt: new Date() }] },
      secrets: noDatabaseSecrets,
      scopes: { listScopes: async () => [] },
      backends: [b],
    });

  it('a binding limited to the Vault backend gets the deepest scope’s values', async () => {
    expect(await resolverWith('my-vault').resolve('acme', ['env-1'], ['DEPLOY_KEY', 'PASSWORD', 'REGION'])).toEqual({ DEPLOY_KEY: 'vault-deploy-key-1', PASSWORD: 'vault-db-password', REGION: 'eu-west-1' });
  });

  it('a Vault that is down fails the resolution, naming the backend and why', async () => {
    vault.failWith(503);
    try {
      const e = await resolverWith('my-vault')
        .resolve('acme', ['env-1'], ['DEPLOY_KEY'])
        .catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SecretResolutionError);
      expect((e as SecretResolutionError).message).toMatch(/^secret backend unavailable, so secrets DEPLOY_KEY cannot be resolved: my-vault: Vault backend my-vault .*HTTP 503 \(Vault is sealed\)/);
      expect((e as SecretResolutionError).details.failedBackends).toEqual([{ backend: 'my-vault', reason: expect.stringContaining('HTTP 503') }]);
    } finally {
      vault.failWith(null);
    }
  });
});
