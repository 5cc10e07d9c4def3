import { z } from 'zod';
import type { Environment } from '../../environments/index.js';
import { backendNameProblem, SECRET_LIMITS, scopePatternProblem, scopeProblem, secretNameProblem, DATABASE_BACKEND } from '../../secrets/index.js';
import { type EnvironmentBinding, EnvironmentBindingExistsError, type NewAuditEvent } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { loadEnvironment } from './environments.js';
import { apiError, type ApiRequest, parseBody, type RouteTable } from './http.js';

/**
 * Secrets in scopes, and the bindings of scope patterns to environments.
 *
 * `PUT /secrets/:scope/:name?org=` `{value}` stores a value (sealed with the master key), `DELETE`
 * the same path removes it, `GET /secrets?org=[&scope=]` lists scopes with their secret NAMES. No
 * route ever answers a value: there is no API to read one back. A scope is one path segment here
 * (`aws%2Fprod`); the internal `source/` scopes (sources' credentials) are refused.
 *
 * `GET|POST /environments/:ref/bindings` (`{scope, backend?}`) and
 * `DELETE /environments/:ref/bindings/:id`: which scopes a job in the environment gets its secrets
 * from (src/secrets/scope-resolution.ts says how a name picks its scope).
 *
 * Every set, unset, bind and unbind is audited with the caller's name, in the same transaction as
 * the change; the audit rows hold scopes, names and patterns, never a value.
 */

const org = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

// Strict: `{ secret: … }` for `{ value: … }` is a 400, never an empty secret stored.
const secretBody = z
  .object({
    value: z
      .string({ error: 'required, a string' })
      .min(1, 'must not be empty')
      .max(SECRET_LIMITS.valueBytes, `must be at most ${SECRET_LIMITS.valueBytes} characters`)
      // A step's environment cannot carry a NUL (and the spawn error would quote the value).
      .refine((v) => !v.includes('\u0000'), 'must not contain a NUL character'),
  })
  .strict();

const problemSchema = (problemOf: (v: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const bindingBody = z.object({ scope: problemSchema(scopePatternProblem), backend: problemSchema(backendNameProblem).nullable().optional() }).strict();

/** `?org=`, required. */
function orgOf(req: ApiRequest): string {
  const value = req.query.get('org');
  if (value === null) throw apiError(400, 'invalid_request', 'org: required (?org=…)');
  const parsed = org.safeParse(value);
  if (!parsed.success) throw apiError(400, 'invalid_request', `org: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function checked(field: string, value: string, problemOf: (v: string) => string | null): string {
  const problem = problemOf(value);
  if (problem) throw apiError(400, 'invalid_request', `${field}: ${problem}`);
  return value;
}

/** A name to remove: any, so a secret stored by hand under a name the API would not take (`KICI_…`) can still go. */
const nameToFind = (name: string) => (name.length === 0 ? 'must not be empty' : name.length > SECRET_LIMITS.nameLength ? `must be at most ${SECRET_LIMITS.nameLength} characters` : null);

const secretAudit = (req: ApiRequest, action: 'secret.set' | 'secret.unset', orgId: string, scope: string, name: string): NewAuditEvent => ({
  actor: req.caller,
  action,
  subject: { id: `${scope}/${name}`, name },
  details: { scope, name },
  orgId,
});

/** The environment a binding belongs to, as the answers name it. */
const owner = (e: Environment) => ({ id: e.id, orgId: e.orgId, name: e.name });

export function bindingView(b: EnvironmentBinding) {
  return { id: b.id, orgId: b.orgId, environmentId: b.environmentId, scopePattern: b.scopePattern, backend: b.backend, createdAt: b.createdAt.toISOString() };
}

export function secretRoutes(deps: AdminDeps): RouteTable {
  const sealed = deps.store.sealedSecrets;
  const bindings = deps.store.environmentBindings;
  const load = (req: ApiRequest) => loadEnvironment(deps.store.environments, req);

  return [
    ['GET', '/secrets', async (req) => {
      const orgId = orgOf(req);
      const filter = req.query.get('scope');
      if (filter !== null) checked('scope', filter, scopeProblem);
      const scopes = (await sealed.listScopes(orgId)).filter((s) => filter === null || s.scope === filter || s.scope.startsWith(`${filter}/`));
      return { status: 200, body: { orgId, scopes } };
    }],
    ['PUT', '/secrets/:scope/:name', async (req) => {
      const orgId = orgOf(req);
      const scope = checked('scope', req.params.scope, scopeProblem);
      const name = checked('name', req.params.name, secretNameProblem);
      const { value } = await parseBody(req, secretBody);
      await deps.secrets.put(orgId, scope, name, value, secretAudit(req, 'secret.set', orgId, scope, name));
      return { status: 200, body: { orgId, scope, name, set: true } };
    }],
    ['DELETE', '/secrets/:scope/:name', async (req) => {
      const orgId = orgOf(req);
      const scope = checked('scope', req.params.scope, scopeProblem);
      const name = checked('name', req.params.name, nameToFind);
      const deleted = await sealed.delete({ orgId, scope, key: name }, { event: secretAudit(req, 'secret.unset', orgId, scope, name), at: new Date() });
      if (!deleted) throw apiError(404, 'not_found', `no secret ${name} in scope ${scope} of ${orgId}`);
      return { status: 200, body: { orgId, scope, name, deleted: true } };
    }],

    ['GET', '/environments/:ref/bindings', async (req) => {
      const env = await load(req);
      return { status: 200, body: { environment: owner(env), bindings: (await bindings.list(env.id)).map(bindingView) } };
    }],
    ['POST', '/environments/:ref/bindings', async (req) => {
      const env = await load(req);
      const body = await parseBody(req, bindingBody);
      // A binding to a backend nobody registered would reach nothing, silently: say so now.
      if (body.backend && body.backend !== DATABASE_BACKEND && deps.secretBackends && !(await deps.secretBackends.get(body.backend))) {
        throw apiError(404, 'not_found', `no secret backend ${body.backend} (kici-admin backend list; \`${DATABASE_BACKEND}\` is the database)`);
      }
      let created: EnvironmentBinding | null;
      try {
        created = await bindings.create({ environment: env, scopePattern: body.scope, backend: body.backend ?? null }, req.caller, new Date());
      } catch (e) {
        if (e instanceof EnvironmentBindingExistsError) throw apiError(409, 'conflict', e.message);
        throw e;
      }
      if (!created) throw apiError(404, 'not_found', `no environment ${env.name} in ${env.orgId}`);
      return { status: 201, body: { environment: owner(env), ...bindingView(created) } };
    }],
    ['DELETE', '/environments/:ref/bindings/:id', async (req) => {
      const env = await load(req);
      const deleted = await bindings.delete(req.params.id, env, req.caller, new Date());
      if (!deleted) throw apiError(404, 'not_found', `no binding ${req.params.id} on environment ${env.name} in ${env.orgId}`);
      return { status: 200, body: { environment: owner(env), ...bindingView(deleted), deleted: true } };
    }],
  ];
}
