/**
 * The Vault stand-in (test/support/vault-standin.ts) against the documented responses it stands
 * for, asked over raw HTTP (fetch), so the backend tests rest on answers Vault's documentation
 * gives, not on what the backend happens to expect. Sources: Vault's HTTP API overview ("Error
 * response", "HTTP status codes", listing), the KV version 2 API, the AppRole API, /sys/health.
 *
 * | request | documented response | stand-in | asserted below |
 * |---|---|---|---|
 * | any route, status ≥ 400 | `{"errors": [...]}` | yes | every error case |
 * | `GET /v1/{mount}/data/{path}`, token ok | 200 `{"data":{"data":{…},"metadata":{"created_time","custom_metadata","deletion_time","destroyed","version"}}}` | yes | "reads the latest version" |
 * | same, nothing there | 404 `{"errors":[]}` | yes | "missing path" |
 * | same, latest version soft-deleted | 404 (metadata with `deletion_time` set, `data` null) | yes | "deleted version" |
 * | `LIST /v1/{mount}/metadata/{path}/` | 200 `{"data":{"keys":["foo","foo/"]}}`: one level, folders suffixed `/`, a path both secret and folder listed twice | yes | "lists one level" |
 * | `GET …/metadata/{path}/?list=true` | the same as `LIST` | yes | "GET ?list=true" |
 * | LIST with no results | 404 `{"errors":[]}` | yes | "empty list" |
 * | no or wrong `X-Vault-Token` | 403 `{"errors":["permission denied"]}` | yes | "wrong token" |
 * | `X-Vault-Namespace` (Enterprise): path relative to the namespace | 403 without it when the token is the namespace's | yes | "namespace" |
 * | `POST /v1/{mount}/data/{path}` `{"options":{"cas":N},"data":{…}}` | 200 `{"data":{"version":N+1,…}}`; a cas that is not the current version fails (400) | yes | "writes with cas" |
 * | `POST /v1/auth/approle/login` `{"role_id","secret_id"}` | 200 `{"auth":{"client_token","lease_duration",…}}`; wrong ids 400 | yes | "approle login" |
 * | `GET /v1/sys/health` | 200 initialised/unsealed/active, body with `sealed`, `version`; 503 sealed; no token needed | yes (200, 503) | "health" |
 * | 5xx (500 internal, 503 sealed or down for maintenance) | `{"errors":[…]}` | injected: `failWith` | "injected failures" |
 * | no answer | (a network fault, not an HTTP answer) | injected: `hang` | "hang" |
 * | unknown route / mount | 404 | yes | "unknown mount" |
 * | 501 not initialised, 429/472/473 standby and DR codes of sys/health, 412 | documented | not served | — (the backend maps them from a table, unit-free) |
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultStandIn } from '../../support/vault-standin.js';

let vault: VaultStandIn;

beforeAll(async () => {
  vault = await VaultStandIn.start({ approle: { roleId: 'role-1', secretId: 'secret-1', leaseSeconds: 60 } });
  vault.put('kici/secrets/acme/aws/prod', { DEPLOY_KEY: 'v1' });
  vault.put('kici/secrets/acme/aws/prod', { DEPLOY_KEY: 'v2', REGION: 'eu' });
  vault.put('kici/secrets/acme/aws/prod/db', { PASSWORD: 'p' });
  vault.put('kici/secrets/acme/aws/shared', { REGION: 'us' });
});

afterAll(async () => {
  await vault?.close();
});

async function ask(method: string, path: string, o: { token?: string | null; namespace?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? vault.token : o.token;
  if (token !== null) headers['x-vault-token'] = token;
  if (o.namespace) headers['x-vault-namespace'] = o.namespace;
  const res = await fetch(`${vault.url}/v1/${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('the Vault stand-in answers as the documentation says', () => {
  it('reads the latest version: data.data and data.metadata', async () => {
    const r = await ask('GET', 'secret/data/kici/secrets/acme/aws/prod');
    expect(r.status).toBe(200);
    expect(r.body.data.data).toEqual({ DEPLOY_KEY: 'v2', REGION: 'eu' });
    expect(r.body.data.metadata).toMatchObject({ version: 2, destroyed: false, deletion_time: '', custom_metadata: null });
    expect(typeof r.body.data.metadata.created_time).toBe('string');
  });

  it('missing path: 404 {"errors":[]}', async () => {
    expect(await ask('GET', 'secret/data/kici/secrets/acme/nope')).toEqual({ status: 404, body: { errors: [] } });
  });

  it('deleted version: 404 with its metadata', async () => {
    vault.put('kici/secrets/gone/x', { A: '1' });
    vault.delete('kici/secrets/gone/x');
    const r = await ask('GET', 'secret/data/kici/secrets/gone/x');
    expect(r.status).toBe(404);
    expect(r.body.data.data).toBeNull();
    expect(r.body.data.metadata.deletion_time).not.toBe('');
  });

  it('lists one level: names, and folders suffixed "/" (a path both secret and folder twice)', async () => {
    expect(await ask('LIST', 'secret/metadata/kici/secrets/acme/')).toMatchObject({ status: 200, body: { data: { keys: ['aws/'] } } });
    expect((await ask('LIST', 'secret/metadata/kici/secrets/acme/aws/')).body.data.keys).toEqual(['prod', 'prod/', 'shared']);
    expect((await ask('LIST', 'secret/metadata/kici/secrets/acme/aws/prod')).body.data.keys).toEqual(['db']);
  });

  it('GET ?list=true is LIST', async () => {
    expect((await ask('GET', 'secret/metadata/kici/secrets/acme/aws/?list=true')).body.data.keys).toEqual(['prod', 'prod/', 'shared']);
  });

  it('empty list: 404 {"errors":[]}', async () => {
    expect(await ask('LIST', 'secret/metadata/kici/secrets/nobody/')).toEqual({ status: 404, body: { errors: [] } });
  });

  it('wrong or no token: 403 permission denied, on reads and lists alike', async () => {
    const denied = { status: 403, body: { errors: ['permission denied'] } };
    expect(await ask('GET', 'secret/data/kici/secrets/acme/aws/prod', { token: 'hvs.wrong' })).toEqual(denied);
    expect(await ask('LIST', 'secret/metadata/kici/secrets/acme/', { token: null })).toEqual(denied);
  });

  it('writes with cas: the current version or a 400', async () => {
    expect((await ask('POST', 'secret/data/kici/secrets/w/s', { body: { options: { cas: 0 }, data: { A: '1' } } })).body.data.version).toBe(1);
    const stale = await ask('POST', 'secret/data/kici/secrets/w/s', { body: { options: { cas: 0 }, data: { A: '2' } } });
    expect(stale.status).toBe(400);
    expect(stale.body.errors[0]).toMatch(/check-and-set/);
    expect((await ask('POST', 'secret/data/kici/secrets/w/s', { body: { options: { cas: 1 }, data: { A: '2' } } })).body.data.version).toBe(2);
  });

  it('approle login: a client token with its lease; wrong ids 400', async () => {
    const ok = await ask('POST', 'auth/approle/login', { token: null, body: { role_id: 'role-1', secret_id: 'secret-1' } });
    expect(ok.status).toBe(200);
    expect(ok.body.auth).toMatchObject({ lease_duration: 60, renewable: true });
    expect((await ask('GET', 'secret/data/kici/secrets/acme/aws/prod', { token: ok.body.auth.client_token })).status).toBe(200);
    vault.revokeIssuedTokens();
    expect((await ask('GET', 'secret/data/kici/secrets/acme/aws/prod', { token: ok.body.auth.client_token })).status).toBe(403);
    const wrong = await ask('POST', 'auth/approle/login', { token: null, body: { role_id: 'role-1', secret_id: 'nope' } });
    expect(wrong).toEqual({ status: 400, body: { errors: ['invalid role or secret ID'] } });
  });

  it('health: 200 unsealed without a token, 503 sealed', async () => {
    const up = await ask('GET', 'sys/health', { token: null });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    vault.failWith(503);
    try {
      const sealed = await ask('GET', 'sys/health', { token: null });
      expect(sealed.status).toBe(503);
      expect(sealed.body.sealed).toBe(true);
    } finally {
      vault.failWith(null);
    }
  });

  it('injected failures: 500 and 503 with {"errors":[…]} on every route', async () => {
    vault.failWith(500, 'internal error');
    expect(await ask('GET', 'secret/data/kici/secrets/acme/aws/prod')).toEqual({ status: 500, body: { errors: ['internal error'] } });
    vault.failWith(503);
    expect(await ask('LIST', 'secret/metadata/kici/secrets/acme/')).toEqual({ status: 503, body: { errors: ['Vault is sealed'] } });
    vault.failWith(null);
    expect((await ask('GET', 'secret/data/kici/secrets/acme/aws/prod')).status).toBe(200);
  });

  it('hang: takes the request and never answers', async () => {
    vault.hang();
    try {
      await expect(fetch(`${vault.url}/v1/sys/health`, { signal: AbortSignal.timeout(300) })).rejects.toThrow(/timeout|aborted/i);
    } finally {
      vault.heal();
    }
    expect((await ask('GET', 'sys/health', { token: null })).status).toBe(200);
  });

  it('unknown mount: 404 naming the route', async () => {
    const r = await ask('GET', 'kv/data/x');
    expect(r.status).toBe(404);
    expect(r.body.errors[0]).toMatch(/no handler for route/);
  });

  it('records requests without the token', async () => {
    await ask('GET', 'secret/data/kici/secrets/acme/aws/prod', { namespace: 'ns1/' });
    const last = vault.requests.at(-1)!;
    expect(last).toEqual({ method: 'GET', path: '/v1/secret/data/kici/secrets/acme/aws/prod', query: '', namespace: 'ns1/', withToken: true });
    expect(JSON.stringify(vault.requests)).not.toContain(vault.token);
  });
});

describe('namespace', () => {
  it('a token of namespace ns1 is refused without X-Vault-Namespace', async () => {
    const ns = await VaultStandIn.start({ namespace: 'ns1' });
    try {
      ns.put('kici/secrets/acme/a', { A: '1' });
      const ask1 = (namespace?: string) =>
        fetch(`${ns.url}/v1/secret/data/kici/secrets/acme/a`, { headers: { 'x-vault-token': ns.token, ...(namespace ? { 'x-vault-namespace': namespace } : {}) } }).then((r) => r.status);
      expect(await ask1()).toBe(403);
      expect(await ask1('ns1/')).toBe(200);
      expect(await ask1('ns1')).toBe(200);
    } finally {
      await ns.close();
    }
  });
});
