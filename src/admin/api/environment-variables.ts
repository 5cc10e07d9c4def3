import { z } from 'zod';
import { type Environment, overrideIgnored, variableKeySchema, variableValueSchema } from '../../environments/index.js';
import type { Source, StoredOverride, StoredVariable } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { loadEnvironment } from './environments.js';
import { apiError, type ApiRequest, parseBody, type RouteTable } from './http.js';

// Strict bodies, as for environments: `lock` for `locked` is a 400, never a lock silently not set.
const variableBody = z.object({ value: variableValueSchema, locked: z.boolean().optional() }).strict();
const overrideBody = z.object({ value: variableValueSchema }).strict();

/** What a source's name or id can be (sources.ts): anything else names no source. */
const SOURCE_REF = /^[A-Za-z0-9_.-]{1,100}$/;

/** The environment a variable belongs to, as the answers name it. */
const owner = (e: Environment) => ({ id: e.id, orgId: e.orgId, name: e.name });

const variableView = (v: StoredVariable) => ({ key: v.key, value: v.value, locked: v.locked, createdAt: v.createdAt.toISOString(), updatedAt: v.updatedAt.toISOString() });

/** `source` is the source's id (the override's routing key); `sourceName` is null once the source is deleted. */
const overrideView = (o: StoredOverride, sourceName: string | null, ignored: boolean) => ({
  source: o.routingKey,
  sourceName,
  key: o.key,
  value: o.value,
  ignored,
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

/** A key in a path: a name a variable may take (`variableKeySchema`), else 400 naming `key`. */
function keyToSet(req: ApiRequest): string {
  const parsed = variableKeySchema.safeParse(req.params.key);
  if (!parsed.success) throw apiError(400, 'invalid_request', `key: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** A key to look up or remove: any, so a row written by hand under a name the API refuses can still go. */
function keyToFind(req: ApiRequest): string {
  const key = req.params.key;
  if (key.length === 0 || key.length > 1024) throw apiError(400, 'invalid_request', 'key: 1 to 1024 characters');
  return key;
}

const lockedMessage = (env: Environment, key: string) =>
  `${key} is locked in environment ${env.name}: the override is stored, but runs ignore it while ${key} stays locked ` +
  '(a locked variable takes no source override)';

/**
 * An environment's variables and its per-source overrides, under `/environments/:ref/…` (`:ref`
 * as every environment route takes it: the id, or the name with `?org=`). A source is named by its
 * id or its name in the environment's org, and stored by id (the override's routing key).
 * Overrides of a locked key are stored but ignored by runs; every answer that shows one says so.
 */
export function environmentVariableRoutes(deps: AdminDeps): RouteTable {
  const variables = deps.store.environmentVariables;
  const load = (req: ApiRequest) => loadEnvironment(deps.store.environments, req);

  /** The live source `ref` names in the environment's org (its id first, then its name). */
  const sourceOf = async (env: Environment, ref: string): Promise<Source | null> => {
    if (!SOURCE_REF.test(ref)) return null;
    return (await deps.store.sources.get(ref, env.orgId)) ?? (await deps.store.sources.findByName(env.orgId, ref));
  };
  const noSource = (env: Environment, ref: string) => apiError(404, 'not_found', `no source ${ref} in ${env.orgId}`);

  return [
    ['GET', '/environments/:ref/variables', async (req) => {
      const env = await load(req);
      const list = await variables.listVariables(env.id);
      return { status: 200, body: { environment: owner(env), variables: list.map(variableView) } };
    }],
    ['PUT', '/environments/:ref/variables/:key', async (req) => {
      const env = await load(req);
      const key = keyToSet(req);
      const body = await parseBody(req, variableBody);
      const set = await variables.setVariable(env, { key, value: body.value, locked: body.locked }, new Date());
      if (!set) throw apiError(404, 'not_found', `no environment ${env.name} in ${env.orgId}`);
      const reply: Record<string, unknown> = { environment: owner(env), ...variableView(set.row), created: set.created };
      if (set.row.locked) {
        const overridden = (await variables.listOverrides(env.id)).filter((o) => o.key === key);
        if (overridden.length > 0) {
          reply.ignoredOverrides = overridden.length;
          reply.message = `${key} is locked: ${overridden.length} source override${overridden.length === 1 ? '' : 's'} of it ${overridden.length === 1 ? 'is' : 'are'} ignored while it stays locked`;
        }
      }
      return { status: set.created ? 201 : 200, body: reply };
    }],
    ['DELETE', '/environments/:ref/variables/:key', async (req) => {
      const env = await load(req);
      const key = keyToFind(req);
      if (!(await variables.unsetVariable(env.id, key))) throw apiError(404, 'not_found', `no variable ${key} in environment ${env.name}`);
      return { status: 200, body: { environment: owner(env), key, deleted: true } };
    }],

    ['GET', '/environments/:ref/overrides', async (req) => {
      const env = await load(req);
      const ref = req.query.get('source');
      let routingKey: string | undefined;
      if (ref !== null) {
        // A deleted source's overrides stay listed (and removable) under its id.
        routingKey = (await sourceOf(env, ref))?.id ?? ref;
      }
      const [list, vars, sources] = await Promise.all([
        variables.listOverrides(env.id, routingKey),
        variables.listVariables(env.id),
        deps.store.sources.list({ orgId: env.orgId }),
      ]);
      const names = new Map(sources.map((s) => [s.id, s.name]));
      if (ref !== null && !names.has(routingKey!) && list.length === 0) throw noSource(env, ref);
      return { status: 200, body: { environment: owner(env), overrides: list.map((o) => overrideView(o, names.get(o.routingKey) ?? null, overrideIgnored(vars, o.key))) } };
    }],
    ['PUT', '/environments/:ref/overrides/:source/:key', async (req) => {
      const env = await load(req);
      const source = await sourceOf(env, req.params.source);
      if (!source) throw noSource(env, req.params.source);
      const key = keyToSet(req);
      const body = await parseBody(req, overrideBody);
      const set = await variables.setOverride(env, { routingKey: source.id, key, value: body.value }, new Date());
      if (!set) throw apiError(404, 'not_found', `no environment ${env.name} in ${env.orgId}`);
      const locked = (await variables.getVariable(env.id, key))?.locked === true;
      const reply: Record<string, unknown> = { environment: owner(env), ...overrideView(set.row, source.name, locked), created: set.created };
      if (locked) reply.message = lockedMessage(env, key);
      return { status: set.created ? 201 : 200, body: reply };
    }],
    ['DELETE', '/environments/:ref/overrides/:source/:key', async (req) => {
      const env = await load(req);
      const key = keyToFind(req);
      const source = await sourceOf(env, req.params.source);
      // A deleted source's overrides are removed by its id.
      const routingKey = source?.id ?? req.params.source;
      if (!(await variables.unsetOverride(env.id, routingKey, key))) {
        if (!source) throw noSource(env, req.params.source);
        throw apiError(404, 'not_found', `no override of ${key} for source ${source.name} in environment ${env.name}`);
      }
      return { status: 200, body: { environment: owner(env), source: routingKey, sourceName: source?.name ?? null, key, deleted: true } };
    }],
  ];
}
