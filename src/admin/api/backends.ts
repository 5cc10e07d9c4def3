import { z } from 'zod';
import { type SecretBackends, SecretBackendInputError, type VaultConfig } from '../../secrets/index.js';
import { SecretBackendExistsError, SecretBackendInUseError } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, type ApiRequest, parseBody, type RouteTable } from './http.js';

/**
 * Secret backends besides the database: HashiCorp Vault KV v2 stores (seed 000's `kici-admin
 * backend add|list|remove`, and `test`). Backends are global: one serves every organisation.
 *
 * `POST /backends` `{name, type: "vault", scopeFilter?, vault: {url, authMethod, token | roleId +
 * secretId [+ approleMount], mountPath?, basePath, namespace?}}` registers one (201; 409 when the
 * name is taken; 400 naming the field, `pg` included: it is the database backend). `GET /backends`
 * lists them, `GET /backends/:name` shows one, `DELETE /backends/:name` removes one (409 while an
 * environment binding names it), `POST /backends/:name/test` checks Vault now (sys/health, then the
 * credentials against a LIST of the base path) and records the health it found.
 *
 * No answer, error or audit row ever holds the token, role id or secret id: answers show the URL,
 * auth method, mount, base path, namespace, scope filter and health. Create and remove are audited
 * (`secret_backend.create`, `secret_backend.remove`) with the caller's name, in the change's transaction.
 */

const credential = z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters');

// Strict: a misspelt field (`vault_token`) is a 400, never a backend without its credential.
const vaultBody = z
  .object({
    url: z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters'),
    authMethod: z.enum(['token', 'approle']).default('token'),
    token: credential.optional(),
    roleId: credential.optional(),
    secretId: credential.optional(),
    approleMount: z.string().max(256).optional(),
    mountPath: z.string().max(256).default('secret'),
    basePath: z.string({ error: 'required, a string (e.g. kici/secrets)' }).max(256),
    namespace: z.string().max(256).optional(),
  })
  .strict();

const newBackend = z
  .object({
    name: z.string({ error: 'required, a string' }).max(100),
    type: z.literal('vault', { error: 'only "vault" backends can be added (the database backend pg is always there)' }),
    scopeFilter: z.string().max(256).optional(),
    vault: vaultBody,
  })
  .strict();

function vaultConfigOf(body: z.infer<typeof vaultBody>): VaultConfig {
  const base = { url: body.url, mountPath: body.mountPath, basePath: body.basePath, ...(body.namespace ? { namespace: body.namespace } : {}) };
  if (body.authMethod === 'token') {
    if (body.token === undefined) throw apiError(400, 'invalid_request', 'vault.token: required with authMethod "token"');
    if (body.roleId !== undefined || body.secretId !== undefined) throw apiError(400, 'invalid_request', 'vault.roleId: only with authMethod "approle"');
    return { ...base, auth: { method: 'token', token: body.token } };
  }
  if (body.roleId === undefined) throw apiError(400, 'invalid_request', 'vault.roleId: required with authMethod "approle"');
  if (body.secretId === undefined) throw apiError(400, 'invalid_request', 'vault.secretId: required with authMethod "approle"');
  if (body.token !== undefined) throw apiError(400, 'invalid_request', 'vault.token: only with authMethod "token"');
  return { ...base, auth: { method: 'approle', roleId: body.roleId, secretId: body.secretId, ...(body.approleMount ? { mount: body.approleMount } : {}) } };
}

function backendsOf(deps: AdminDeps): SecretBackends {
  if (!deps.secretBackends) throw apiError(503, 'unavailable', 'secret backends are not available on this node');
  return deps.secretBackends;
}

const notFound = (req: ApiRequest) => apiError(404, 'not_found', `no secret backend ${req.params.name}`);

export function backendRoutes(deps: AdminDeps): RouteTable {
  return [
    ['GET', '/backends', async () => ({ status: 200, body: { backends: await backendsOf(deps).list() } })],
    ['POST', '/backends', async (req) => {
      const body = await parseBody(req, newBackend);
      const config = vaultConfigOf(body.vault);
      try {
        const created = await backendsOf(deps).add({ name: body.name, config, scopeFilter: body.scopeFilter }, req.caller);
        return { status: 201, body: created };
      } catch (e) {
        if (e instanceof SecretBackendInputError) throw apiError(400, 'invalid_request', e.message);
        if (e instanceof SecretBackendExistsError) throw apiError(409, 'conflict', e.message);
        throw e;
      }
    }],
    ['GET', '/backends/:name', async (req) => {
      const found = await backendsOf(deps).get(req.params.name);
      if (!found) throw notFound(req);
      return { status: 200, body: found };
    }],
    ['DELETE', '/backends/:name', async (req) => {
      try {
        const removed = await backendsOf(deps).remove(req.params.name, req.caller);
        if (!removed) throw notFound(req);
        return { status: 200, body: { ...removed, removed: true } };
      } catch (e) {
        if (e instanceof SecretBackendInUseError) throw apiError(409, 'backend_in_use', e.message);
        throw e;
      }
    }],
    ['POST', '/backends/:name/test', async (req) => {
      const report = await backendsOf(deps).test(req.params.name);
      if (!report) throw notFound(req);
      return { status: 200, body: report };
    }],
  ];
}
