/**
 * The secret backends besides the database, as the admin API and the dispatch see them: their
 * configuration sealed with the master key on the way in, opened on the way out, never shown.
 *
 * A backend's configuration (URL, auth method with its token or AppRole credentials, mount, base
 * path, namespace) is one JSON object sealed like a secret, its associated data binding it to the
 * backend's name (`seal(key, { orgId: '', scope: 'secret_backends', name })`: an organisation id no
 * stored secret can have, so neither a secret nor another backend's config opens in its place).
 * Opening tries the current master key, then the old one during a rotation.
 *
 * `forDispatch()` reads the enabled backends and opens their configs at every call: the job-input
 * wiring calls it at each dispatch that names secrets, so a backend added, removed or disabled
 * takes effect at the next dispatch, without a restart. A config that cannot be opened (another
 * master key) gives a backend that fails when a binding reaches it, with that reason.
 *
 * Views (`list`, answers, audit details) hold the URL, auth method, mount, base path, namespace,
 * scope filter and health: never the token, role id or secret id.
 */
import type { Clock } from '../clock/index.js';
import type { AuditActor, SecretBackendRecord, SecretBackendRepository } from '../store/index.js';
import { DATABASE_BACKEND, type SecretBackend } from './secret-resolver.js';
import { backendNameProblem, scopePatternProblem } from './scope-resolution.js';
import { openersOf } from './live-keys.js';
import type { SecretKeys } from './secret-store.js';
import { open, seal, type SecretBinding } from './sealing.js';
import { type VaultConfig, vaultBackend, vaultConfigProblems, type VaultHealthReport, type VaultTokenCache, vaultTokenCache } from './vault-backend.js';

/** The associated data of a backend's sealed configuration. */
export const backendConfigBinding = (name: string): SecretBinding => ({ orgId: '', scope: 'secret_backends', name });

export interface NewVaultBackend {
  name: string;
  config: VaultConfig;
  /** A picomatch glob over scope paths; `**` by default. */
  scopeFilter?: string;
}

/** A backend as answers show it: no credential. */
export interface SecretBackendView {
  id: string;
  name: string;
  type: string;
  url: string | null;
  authMethod: string | null;
  mountPath: string | null;
  basePath: string | null;
  namespace: string | null;
  scopeFilter: string;
  enabled: boolean;
  healthStatus: string;
  lastHealthCheckAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set when the config cannot be opened with this orchestrator's master key. */
  configError?: string;
}

export interface BackendTestReport extends VaultHealthReport {
  name: string;
  checkedAt: string;
}

/** The input cannot make a backend; `field` is the body's field it is about. */
export class SecretBackendInputError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'SecretBackendInputError';
  }
}

export interface SecretBackends {
  /** Throws SecretBackendInputError, or the store's SecretBackendExistsError. */
  add(input: NewVaultBackend, by: AuditActor): Promise<SecretBackendView>;
  list(): Promise<SecretBackendView[]>;
  get(name: string): Promise<SecretBackendView | null>;
  /** null when there is none; throws the store's SecretBackendInUseError while a binding names it. */
  remove(name: string, by: AuditActor): Promise<SecretBackendView | null>;
  /** Check the backend now and record what was found; null when there is none. */
  test(name: string): Promise<BackendTestReport | null>;
  /** The enabled backends as the resolver takes them, configs opened now. */
  forDispatch(): Promise<SecretBackend[]>;
}

export interface SecretBackendsDeps {
  repository: SecretBackendRepository;
  keys: SecretKeys;
  clock: Clock;
  /** Per Vault request; 5 s by default. */
  timeoutMs?: number;
  /** AppRole tokens kept between dispatches (one cache per orchestrator). */
  tokens?: VaultTokenCache;
}

/** The sealed JSON (version 1). */
interface StoredConfig {
  v: 1;
  url: string;
  authMethod: 'token' | 'approle';
  token?: string;
  roleId?: string;
  secretId?: string;
  approleMount?: string;
  mountPath: string;
  basePath: string;
  namespace?: string;
}

function toStored(c: VaultConfig): StoredConfig {
  const auth = c.auth.method === 'token' ? { authMethod: 'token' as const, token: c.auth.token } : { authMethod: 'approle' as const, roleId: c.auth.roleId, secretId: c.auth.secretId, ...(c.auth.mount ? { approleMount: c.auth.mount } : {}) };
  return { v: 1, url: c.url, ...auth, mountPath: c.mountPath, basePath: c.basePath, ...(c.namespace ? { namespace: c.namespace } : {}) };
}

function fromStored(s: StoredConfig): VaultConfig {
  const auth = s.authMethod === 'approle' ? { method: 'approle' as const, roleId: s.roleId ?? '', secretId: s.secretId ?? '', ...(s.approleMount ? { mount: s.approleMount } : {}) } : { method: 'token' as const, token: s.token ?? '' };
  return { url: s.url, auth, mountPath: s.mountPath, basePath: s.basePath, ...(s.namespace ? { namespace: s.namespace } : {}) };
}

/** What may be shown and audited of a config. */
function publicParts(c: VaultConfig) {
  return { url: c.url, authMethod: c.auth.method, mountPath: c.mountPath, basePath: c.basePath, namespace: c.namespace ?? null };
}

export function createSecretBackends(deps: SecretBackendsDeps): SecretBackends {
  const { repository, clock } = deps;
  const tokens = deps.tokens ?? vaultTokenCache();

  function openConfig(record: SecretBackendRecord): VaultConfig {
    if (!record.config) throw new Error(`secret backend ${record.name} has no configuration`);
    const text = open(openersOf(deps.keys), backendConfigBinding(record.name), record.config);
    return fromStored(JSON.parse(text) as StoredConfig);
  }

  function view(record: SecretBackendRecord): SecretBackendView {
    let parts: ReturnType<typeof publicParts> | null = null;
    let configError: string | undefined;
    try {
      parts = publicParts(openConfig(record));
    } catch (e) {
      configError = `the configuration cannot be opened with this orchestrator's master key (${(e as Error).name})`;
    }
    return {
      id: record.id,
      name: record.name,
      type: record.type,
      url: parts?.url ?? null,
      authMethod: parts?.authMethod ?? null,
      mountPath: parts?.mountPath ?? null,
      basePath: parts?.basePath ?? null,
      namespace: parts?.namespace ?? null,
      scopeFilter: record.scopeFilter,
      enabled: record.enabled,
      healthStatus: record.healthStatus,
      lastHealthCheckAt: record.lastHealthCheckAt?.toISOString() ?? null,
      lastError: record.lastError,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
      ...(configError ? { configError } : {}),
    };
  }

  const backendOf = (record: SecretBackendRecord) => vaultBackend({ name: record.name, config: openConfig(record), scopeFilter: record.scopeFilter, timeoutMs: deps.timeoutMs, tokens, now: () => clock.now() });

  return {
    async add(input, by) {
      const nameProblem = input.name === DATABASE_BACKEND ? `${DATABASE_BACKEND} is the database backend, always there` : backendNameProblem(input.name);
      if (nameProblem) throw new SecretBackendInputError('name', nameProblem);
      const scopeFilter = input.scopeFilter ?? '**';
      const filterProblem = scopePatternProblem(scopeFilter);
      if (filterProblem) throw new SecretBackendInputError('scopeFilter', filterProblem);
      const problem = vaultConfigProblems(input.config)[0];
      if (problem) throw new SecretBackendInputError(`vault.${problem.field}`, problem.problem);
      const sealed = seal(deps.keys.current, backendConfigBinding(input.name), JSON.stringify(toStored(input.config)));
      const record = await repository.create({ name: input.name, type: 'vault', config: sealed, scopeFilter, auditDetails: publicParts(input.config) }, by, new Date(clock.now()));
      return view(record);
    },

    async list() {
      return (await repository.list()).filter((r) => r.type === 'vault').map(view);
    },

    async get(name) {
      const record = await repository.get(name);
      return record && record.type === 'vault' ? view(record) : null;
    },

    async remove(name, by) {
      const record = await repository.get(name);
      if (!record || record.type !== 'vault') return null;
      let details: Record<string, unknown> = {};
      try {
        details = publicParts(openConfig(record));
      } catch {
        // Removed all the same: a config nobody can open is what one most wants gone.
      }
      const removed = await repository.remove(name, by, new Date(clock.now()), details);
      return removed && view(removed);
    },

    async test(name) {
      const record = await repository.get(name);
      if (!record || record.type !== 'vault') return null;
      let report: VaultHealthReport;
      try {
        report = await backendOf(record).health();
      } catch (e) {
        const detail = (e as Error).message;
        report = { healthy: false, version: null, sealed: null, checks: [{ check: 'configuration', ok: false, detail }], error: `configuration: ${detail}` };
      }
      const at = new Date(clock.now());
      await repository.recordHealth(name, { status: report.healthy ? 'healthy' : 'unhealthy', error: report.error }, at);
      return { name, checkedAt: at.toISOString(), ...report };
    },

    async forDispatch() {
      return (await repository.listEnabled('vault')).map((record): SecretBackend => {
        try {
          return backendOf(record);
        } catch {
          const reason = `secret backend ${record.name}: its configuration cannot be opened with this orchestrator's master key`;
          const broken = () => Promise.reject(new Error(reason));
          return { name: record.name, listScopes: broken, names: broken, read: broken };
        }
      });
    },
  };
}
