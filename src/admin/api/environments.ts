import { z } from 'zod';
import {
  type Environment,
  type EnvironmentChanges,
  type EnvironmentStore,
  environmentNameSchema,
  environmentTypeSchema,
  globPatternSchema,
  protectionRuleSchemas,
} from '../../environments/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, type ApiRequest, parseBody, type RouteTable } from './http.js';
import { refusalsAsHttp } from './refusals.js';

const org = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

// Strict bodies: a misspelt rule (`waitTimer`) is a 400, never a protection silently left unset.
const rules = z.object(protectionRuleSchemas).partial();

const newEnvironment = rules
  .extend({ orgId: org, name: environmentNameSchema, type: environmentTypeSchema.optional(), globPattern: globPatternSchema.optional() })
  .strict();

// null clears a nullable rule (no wait timer, no limit, no trust floor) and a glob (the environment becomes fixed).
const patch = rules.extend({ name: environmentNameSchema.optional(), type: environmentTypeSchema.optional(), globPattern: globPatternSchema.nullable().optional() }).strict();

/** An environment as the API shows it: every column, timestamps as ISO text. */
export function environmentView(e: Environment) {
  return { ...e, createdAt: e.createdAt.toISOString(), updatedAt: e.updatedAt.toISOString() };
}

/**
 * Environments, org-scoped as sources are: created with `orgId` in the body, listed with `?org=`.
 * One environment is named by its id, or by its name with `?org=` (names are unique per org;
 * a name holding `/` or `*` is URL-encoded as one path segment).
 */
export function environmentRoutes(deps: AdminDeps): RouteTable {
  const environments = deps.store.environments;
  const load = (req: ApiRequest) => loadEnvironment(environments, req);

  return [
    ['GET', '/environments', async (req) => {
      const list = await environments.list(orgOf(req, true)!);
      return { status: 200, body: { environments: list.map(environmentView) } };
    }],
    ['POST', '/environments', async (req) => {
      const input = await parseBody(req, newEnvironment);
      const created = await refusalsAsHttp(environments.create(input, new Date()));
      return { status: 201, body: environmentView(created) };
    }],
    ['GET', '/environments/:ref', async (req) => ({ status: 200, body: environmentView(await load(req)) })],
    ['PATCH', '/environments/:ref', async (req) => {
      const env = await load(req);
      const changes: EnvironmentChanges = await parseBody(req, patch);
      if (Object.keys(changes).length === 0) throw apiError(400, 'invalid_request', 'body: nothing to change');
      const updated = await refusalsAsHttp(environments.update(env.id, changes, new Date()));
      if (!updated) throw apiError(404, 'not_found', `no environment ${env.name} in ${env.orgId}`);
      // Its jobs waiting for a slot see a raised (or lowered) limit now, not at the next request.
      deps.environmentChanged?.(updated.orgId, updated.name);
      return { status: 200, body: environmentView(updated) };
    }],
    ['DELETE', '/environments/:ref', async (req) => {
      const env = await load(req);
      const deleted = await refusalsAsHttp(environments.delete(env.id));
      if (!deleted) throw apiError(404, 'not_found', `no environment ${env.name} in ${env.orgId}`);
      return { status: 200, body: { ...environmentView(deleted), deleted: true } };
    }],
  ];
}

/**
 * The environment `:ref` names: its id, or its name with `?org=` (404 when there is none, 400 for
 * a name without an org). Every `/environments/:ref…` route resolves it so.
 */
export async function loadEnvironment(environments: Pick<EnvironmentStore, 'get' | 'findByName'>, req: ApiRequest): Promise<Environment> {
  const ref = req.params.ref;
  const orgId = orgOf(req, false);
  const env = isUuid(ref) ? await environments.get(ref, orgId) : null;
  if (env) return env;
  if (orgId === undefined) {
    if (isUuid(ref)) throw apiError(404, 'not_found', `no environment ${ref}`);
    throw apiError(400, 'invalid_request', 'org: required to name an environment (or give its id)');
  }
  // A name no environment can have (a NUL byte, a space) is looked up nowhere.
  const named = environmentNameSchema.safeParse(ref).success ? await environments.findByName(orgId, ref) : null;
  if (!named) throw apiError(404, 'not_found', `no environment ${ref} in ${orgId}`);
  return named;
}

/** `?org=`, checked; `required` makes its absence a 400. */
function orgOf(req: ApiRequest, required: boolean): string | undefined {
  const value = req.query.get('org');
  if (value === null) {
    if (required) throw apiError(400, 'invalid_request', 'org: required (?org=…)');
    return undefined;
  }
  const parsed = org.safeParse(value);
  if (!parsed.success) throw apiError(400, 'invalid_request', `org: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (ref: string) => UUID.test(ref);
