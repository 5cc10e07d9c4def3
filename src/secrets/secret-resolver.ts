/**
 * The secrets a job's steps name, resolved against the scopes bound to the job's environments:
 * read the bindings, list the scopes of every backend a binding can reach, decide each name's scope
 * (scope-resolution.ts, pure and deterministic), then read only the winning values.
 *
 * A backend is a small interface (list its scopes, the names in a scope, the values of names in a
 * scope). The PostgreSQL one (`databaseSecretBackend`, named `pg`) is the sealed secrets table,
 * opened with the master key; Vault backends (vault-backend.ts) come in as further `backends`.
 *
 * Anything short of every name resolved is a SecretResolutionError: a missing or refused name, a
 * backend a binding reaches that fails (it might hold a deeper scope, so answering without it would
 * depend on which backend happened to be up), a value that cannot be opened. The job must then
 * fail, never run without its secrets. No message ever holds a value.
 */
import type { EnvironmentBinding, ScopeNames } from '../store/index.js';
import {
  type AvailableScope,
  bindingReaches,
  compareCodePoints,
  type ResolutionBinding,
  resolveSecretScopes,
  SECRET_LIMITS,
  type SecretSource,
} from './scope-resolution.js';
import type { SecretStore } from './secret-store.js';

/** A place secrets live. Names and scopes only, except `read`, which the resolver calls for winners alone. */
export interface SecretBackend {
  /** The name bindings limit themselves to (`pg`, later a Vault backend's name). */
  readonly name: string;
  /** The org's user scopes (never the internal `source/` ones). */
  listScopes(orgId: string): Promise<string[]>;
  /** The secret names in a scope. */
  names(orgId: string, scope: string): Promise<string[]>;
  /** The values of these names in the scope; a name with no value is left out. */
  read(orgId: string, scope: string, names: readonly string[]): Promise<Record<string, string>>;
}

/** The PostgreSQL backend's name, as bindings limit themselves to it (`--backend pg`). */
export const DATABASE_BACKEND = 'pg';

/** Scopes of the sealed secrets table with their names (the store's `sealedSecrets.listScopes`). */
export interface ScopeListing {
  listScopes(orgId: string): Promise<ScopeNames[]>;
}

/** The bindings of environments (the store's `environmentBindings`). */
export interface BindingSource {
  listForEnvironments(orgId: string, environmentIds: readonly string[]): Promise<EnvironmentBinding[]>;
}

/** Environment names for error messages (the store's `environments`); optional. */
export interface EnvironmentNames {
  get(id: string, orgId?: string): Promise<{ name: string } | null>;
}

/** The sealed secrets table as a backend: values opened with the master key through the SecretStore. */
export function databaseSecretBackend(secrets: SecretStore, scopes: ScopeListing): SecretBackend {
  // The listing comes with each scope's names: a resolve lists first, then asks for names, so they
  // are answered from the latest listing of the org instead of one query per scope.
  const listed = new Map<string, Map<string, string[]>>();
  return {
    name: DATABASE_BACKEND,
    async listScopes(orgId) {
      const found = await scopes.listScopes(orgId);
      listed.set(orgId, new Map(found.map((s) => [s.scope, s.names])));
      return found.map((s) => s.scope);
    },
    names: async (orgId, scope) => listed.get(orgId)?.get(scope) ?? secrets.names(orgId, scope),
    async read(orgId, scope, names) {
      const values: Record<string, string> = {};
      for (const name of names) {
        const value = await secrets.get(orgId, scope, name);
        if (value !== null) values[name] = value;
      }
      return values;
    },
  };
}

export interface SecretResolutionDetails {
  orgId: string;
  environmentIds: string[];
  /** Every binding searched: `<environment>: [backend:]pattern`. */
  searched: string[];
  missing: string[];
  refused: { name: string; problem: string }[];
  /** Backends a binding reaches that failed, with why. */
  failedBackends: { backend: string; reason: string }[];
}

/** The job's secrets could not all be resolved; the message says which and where it looked, never a value. */
export class SecretResolutionError extends Error {
  constructor(
    message: string,
    readonly details: SecretResolutionDetails,
  ) {
    super(message);
    this.name = 'SecretResolutionError';
  }
}

export interface SecretResolver {
  /**
   * The value of each name, from the scopes bound to these environments (in the job's order: later
   * ones win ties). No names: `{}` without reading anything. Throws SecretResolutionError.
   */
  resolve(orgId: string, environmentIds: readonly string[], names: readonly string[]): Promise<Record<string, string>>;
}

export interface SecretResolverDeps {
  bindings: BindingSource;
  /** The database backend's values (opened with the master key). */
  secrets: SecretStore;
  /** The database backend's scopes. */
  scopes: ScopeListing;
  /** Backends besides the database one (Vault, later). */
  backends?: readonly SecretBackend[];
  /** Names environments in error messages; ids alone without it. */
  environments?: EnvironmentNames;
}

export function createSecretResolver(deps: SecretResolverDeps): SecretResolver {
  const backends = [databaseSecretBackend(deps.secrets, deps.scopes), ...(deps.backends ?? [])];

  async function fail(reason: string, base: Omit<SecretResolutionDetails, 'searched'> & { bindings: readonly EnvironmentBinding[] }): Promise<never> {
    const names = await environmentLabels(deps.environments, base.orgId, base.environmentIds);
    // In the job's environment order, then by pattern and backend: the same message every time.
    const position = new Map(base.environmentIds.map((id, i) => [id, i]));
    const ordered = [...base.bindings].sort(
      (x, y) =>
        (position.get(x.environmentId) ?? 0) - (position.get(y.environmentId) ?? 0) ||
        compareCodePoints(x.scopePattern, y.scopePattern) ||
        compareCodePoints(x.backend ?? '', y.backend ?? ''),
    );
    const known = new Set(backends.map((b) => b.name));
    const searched = ordered.map(
      (b) =>
        `${names.get(b.environmentId) ?? b.environmentId}: ${b.backend === null ? '' : `${b.backend}:`}${b.scopePattern}` +
        (b.backend !== null && !known.has(b.backend) ? ' (no such backend)' : ''),
    );
    const environments = base.environmentIds.map((id) => names.get(id) ?? id).join(', ') || 'none';
    const where = searched.length > 0 ? `bindings searched: ${searched.join('; ')}` : 'those environments have no bindings';
    const { bindings: _bindings, ...rest } = base;
    throw new SecretResolutionError(`${reason} (org ${base.orgId}; environments: ${environments}; ${where})`, { ...rest, searched });
  }

  return {
    async resolve(orgId, environmentIds, wanted) {
      const names = [...new Set(wanted)];
      if (names.length === 0) return {};
      const ids = [...environmentIds];
      const bindings = await deps.bindings.listForEnvironments(orgId, ids);
      const base = { orgId, environmentIds: ids, bindings, missing: [] as string[], refused: [] as { name: string; problem: string }[], failedBackends: [] as { backend: string; reason: string }[] };
      const resolutionBindings: ResolutionBinding[] = bindings.map((b) => ({ id: b.id, environmentId: b.environmentId, scopePattern: b.scopePattern, backend: b.backend }));

      // Each backend some binding can reach: its reachable scopes and their names.
      const available: AvailableScope[] = [];
      for (const backend of backends) {
        const aimed = resolutionBindings.filter((b) => b.backend === null || b.backend === backend.name);
        if (aimed.length === 0) continue;
        try {
          const scopes = (await backend.listScopes(orgId)).filter((scope) => aimed.some((b) => bindingReaches(b, backend.name, scope)));
          for (const scope of scopes) available.push({ backend: backend.name, scope, names: await backend.names(orgId, scope) });
        } catch (e) {
          base.failedBackends.push({ backend: backend.name, reason: reasonOf(e) });
        }
      }
      if (base.failedBackends.length > 0) {
        const failures = base.failedBackends.map((f) => `${f.backend}: ${f.reason}`).join('; ');
        return fail(`secret backend unavailable, so secrets ${[...names].sort(compareCodePoints).join(', ')} cannot be resolved: ${failures}`, base);
      }

      const resolution = resolveSecretScopes({ environmentIds: ids, bindings: resolutionBindings, available, names });
      if (resolution.refused.length > 0) {
        const refused = resolution.refused.map((r) => `${r.name} (${r.problem})`).join(', ');
        return fail(`secret names refused: ${refused}`, { ...base, refused: resolution.refused, missing: resolution.missing });
      }
      if (resolution.missing.length > 0) {
        return fail(`secrets not found in any bound scope: ${resolution.missing.join(', ')}`, { ...base, missing: resolution.missing });
      }

      // Read the winners only, one call per scope.
      const byScope = new Map<string, SecretSource[]>();
      for (const source of Object.values(resolution.sources)) {
        const key = JSON.stringify([source.backend, source.scope]);
        byScope.set(key, [...(byScope.get(key) ?? []), source]);
      }
      const values: Record<string, string> = {};
      for (const sources of byScope.values()) {
        const { backend: backendName, scope } = sources[0]!;
        const backend = backends.find((b) => b.name === backendName)!;
        const wantedHere = sources.map((s) => s.name);
        let read: Record<string, string>;
        try {
          read = await backend.read(orgId, scope, wantedHere);
        } catch (e) {
          return fail(`secrets ${wantedHere.join(', ')} in scope ${backendName}:${scope} could not be read: ${reasonOf(e)}`, {
            ...base,
            failedBackends: [{ backend: backendName, reason: reasonOf(e) }],
          });
        }
        const gone = wantedHere.filter((name) => read[name] === undefined);
        if (gone.length > 0) {
          return fail(`secrets ${gone.join(', ')} were removed from scope ${backendName}:${scope} while being resolved`, { ...base, missing: gone });
        }
        // A NUL cannot go into a process environment, and the spawn error that says so quotes the value escaped (unmaskable).
        const unfit = wantedHere.filter((name) => read[name]!.includes('\u0000'));
        if (unfit.length > 0) return fail(`secrets ${unfit.join(', ')} in scope ${backendName}:${scope} hold a NUL character, which no step environment can carry`, base);
        // The dispatch frame carries at most this much per secret: a larger one would be refused by the agent unseen.
        const oversized = wantedHere.filter((name) => Buffer.byteLength(read[name]!) > SECRET_LIMITS.valueBytes);
        if (oversized.length > 0) return fail(`secrets ${oversized.join(', ')} in scope ${backendName}:${scope} are larger than ${SECRET_LIMITS.valueBytes} bytes`, base);
        for (const name of wantedHere) values[name] = read[name]!;
      }
      return values;
    },
  };
}

/**
 * An error's message. A backend's errors must never carry a value (SecretOpenError names the
 * location only; a backend reports what failed, not what it read).
 */
function reasonOf(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return 'unknown error';
}

async function environmentLabels(environments: EnvironmentNames | undefined, orgId: string, ids: readonly string[]): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  if (!environments) return labels;
  for (const id of new Set(ids)) {
    try {
      const env = await environments.get(id, orgId);
      if (env) labels.set(id, env.name);
    } catch {
      // The ids say enough when the names cannot be read.
    }
  }
  return labels;
}
