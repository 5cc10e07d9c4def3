/**
 * HashiCorp Vault's KV version 2 engine as a secret backend, over Node's fetch (no Vault SDK).
 *
 * Layout (KiCI's): **one KV secret per (organisation, scope)** holding all of the scope's names,
 * at the logical path `{basePath}/{orgId}/{scope}` of the KV mount. So the scope `aws/prod` of the
 * organisation `acme`, with mount `secret` and base path `kici/secrets`, is
 * `GET /v1/secret/data/kici/secrets/acme/aws/prod`, whose `data.data` holds the names and values.
 * Vault calls used (its HTTP API documentation, KV v2 and sys/health pages):
 *
 * | call | for | answers used |
 * |---|---|---|
 * | `GET /v1/{mount}/data/{basePath}/{org}/{scope}` | a scope's names and values | 200 `{"data":{"data":{…},"metadata":{"version":N}}}`; 404 without a message: no such scope (or its latest version deleted) |
 * | `LIST /v1/{mount}/metadata/{basePath}/{org}/{folder}/` | the org's scopes, walked recursively | 200 `{"data":{"keys":["prod","prod/"]}}` (a key ending `/` is a folder; a path may be both); 404 `{"errors":[]}`: nothing there |
 * | `POST /v1/auth/{approleMount}/login` `{"role_id","secret_id"}` | an AppRole token | 200 `{"auth":{"client_token","lease_duration"}}` |
 * | `GET /v1/sys/health?standbyok=true&perfstandbyok=true` | `backend test` | 200 active or standby; 503 sealed; 501 not initialised; 472 DR secondary |
 *
 * Every request sends `X-Vault-Token` (not for login and health), `X-Vault-Namespace` when the
 * backend has a namespace (not for sys/health, a root-namespace endpoint), and `X-Vault-Request:
 * true`; each has a 5 s timeout, and a redirect is not followed (the token would go with it).
 * Values are read at dispatch time and never cached. Any other answer — a 5xx, a 403 (a token refused: Vault's answer to a wrong or expired token), a 400, a
 * timeout, a refused connection — is a VaultError whose message names the backend, the call and the
 * HTTP status or the cause, with the first of Vault's `{"errors": [...]}` messages (they name paths
 * and reasons, never values); it never holds the token or the AppRole secret id (they are scrubbed
 * from anything quoted, in case). KiCI treats a 400 during LIST as "no scopes"; here it is an error
 * (it means a misconfigured mount, e.g. a KV version 1 engine, which must not look like an empty one),
 * and so is a 404 with a message (`no handler for route`: no such mount); only a 404 without one
 * (`{"errors":[]}`) means "nothing there".
 *
 * With AppRole, the token from the login is kept (in the VaultTokenCache the caller passes, so it
 * outlives one dispatch) until 30 s before its lease ends (3600 s when Vault gives none); a 403
 * with a kept token drops it, logs in again and retries once.
 *
 * Scope paths found in Vault are kept only when they are valid user scopes (scope-resolution.ts:
 * no `source/` internal scopes, no `.`/`..` segments, nothing a binding could not name) and match
 * the backend's scope filter. An organisation id that is not one path segment (`.`, `..`, a `/`)
 * is refused before any request, so no org reads another's folder.
 */
import { createHash } from 'node:crypto';
import type { SecretBackend } from './secret-resolver.js';
import { compareCodePoints, patternMatches, scopeProblem } from './scope-resolution.js';

export const VAULT_TIMEOUT_MS = 5_000;
/** The AppRole token is renewed this long before its lease ends. */
export const VAULT_TOKEN_MARGIN_MS = 30_000;
/** The lease assumed when a login answers none. */
export const VAULT_DEFAULT_LEASE_S = 3_600;
/** Guards on the recursive LIST: folders walked per listing, and nesting. */
export const VAULT_LIST_LIMITS = Object.freeze({ folders: 1_000, depth: 32 });

export type VaultAuth =
  | { method: 'token'; token: string }
  | { method: 'approle'; roleId: string; secretId: string; /** The AppRole auth mount; `approle` by default. */ mount?: string };

export interface VaultConfig {
  /** `https://vault.example.com[:8200][/prefix]`: no credentials, query or fragment. */
  url: string;
  auth: VaultAuth;
  /** The KV version 2 mount (`secret`). */
  mountPath: string;
  /** Where the organisations' folders are, inside the mount (`kici/secrets`). */
  basePath: string;
  /** Vault Enterprise namespace (`X-Vault-Namespace`). */
  namespace?: string;
}

/** A Vault call failed; the message names the backend and the HTTP status or the cause, never a credential. */
export class VaultError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or null when there was no answer (timeout, connection refused). */
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

/** AppRole tokens kept between dispatches, by backend (the key holds no credential). */
export interface VaultTokenCache {
  get(key: string): { token: string; expiresAt: number } | undefined;
  set(key: string, entry: { token: string; expiresAt: number }): void;
  delete(key: string): void;
}

export function vaultTokenCache(): VaultTokenCache {
  const entries = new Map<string, { token: string; expiresAt: number }>();
  return {
    get: (key) => entries.get(key),
    set: (key, entry) => void entries.set(key, entry),
    delete: (key) => void entries.delete(key),
  };
}

export interface VaultBackendOptions {
  /** The backend's name: bindings limit themselves to it, and every error names it. */
  name: string;
  config: VaultConfig;
  /** A picomatch glob over scope paths: only matching scopes are listed. `**` by default. */
  scopeFilter?: string;
  timeoutMs?: number;
  /** Where AppRole tokens are kept between dispatches; without it each backend object logs in once. */
  tokens?: VaultTokenCache;
  /** The clock AppRole leases are measured on; Date.now by default. */
  now?: () => number;
}

export interface VaultHealthCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface VaultHealthReport {
  healthy: boolean;
  /** Vault's version and seal state from sys/health, when it answered. */
  version: string | null;
  sealed: boolean | null;
  checks: VaultHealthCheck[];
  /** The first failed check's detail. */
  error: string | null;
}

export interface VaultSecretBackend extends SecretBackend {
  /** `backend test`: sys/health, then the token against a LIST of the base path. */
  health(): Promise<VaultHealthReport>;
}

// Segments of the mount, base path and namespace: what Vault paths are made of, never `.`/`..`.
const PATH_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
// A credential goes into a header: visible ASCII only.
const CREDENTIAL = /^[\x21-\x7e]+$/;
const CREDENTIAL_MAX = 4_096;

/** Why `path` cannot be a mount or base path (`secret`, `kici/secrets`), or null. */
export function vaultPathProblem(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.length > 256) return 'must be at most 256 characters';
  for (const segment of path.split('/')) {
    if (segment === '') return 'must not have an empty segment (a leading, trailing or doubled "/")';
    if (!PATH_SEGMENT.test(segment)) return `segment "${segment}": letters, digits, ".", "_" and "-" only, not starting with "."`;
  }
  return null;
}

/** Why `url` cannot be a Vault address, or null. */
export function vaultUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http:// or https:// URL';
  if (parsed.username || parsed.password) return 'must not hold credentials';
  if (parsed.search || parsed.hash) return 'must not have a query or fragment';
  return null;
}

/** Every problem of a Vault configuration, by field; empty when it is usable. */
export function vaultConfigProblems(config: VaultConfig): { field: string; problem: string }[] {
  const problems: { field: string; problem: string }[] = [];
  const check = (field: string, problem: string | null) => problem && problems.push({ field, problem });
  check('url', vaultUrlProblem(config.url));
  check('mountPath', vaultPathProblem(config.mountPath));
  check('basePath', vaultPathProblem(config.basePath));
  if (config.namespace !== undefined) check('namespace', vaultPathProblem(config.namespace.replace(/\/$/, '')));
  const credential = (field: string, value: string) =>
    check(field, value.length === 0 ? 'must not be empty' : value.length > CREDENTIAL_MAX ? `must be at most ${CREDENTIAL_MAX} characters` : CREDENTIAL.test(value) ? null : 'visible ASCII characters only');
  if (config.auth.method === 'token') credential('token', config.auth.token);
  else {
    credential('roleId', config.auth.roleId);
    credential('secretId', config.auth.secretId);
    if (config.auth.mount !== undefined) check('approleMount', vaultPathProblem(config.auth.mount));
  }
  return problems;
}

/** `https://vault.example.com/prefix/` → `https://vault.example.com/prefix` */
function baseUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

const encodePath = (...parts: string[]) =>
  parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');

/** What Vault said: the first message of `{"errors": [...]}`, cut short. */
function firstVaultError(body: unknown): string | null {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return null;
  const first = errors.find((e) => typeof e === 'string' && e.trim() !== '') as string | undefined;
  if (!first) return null;
  const line = first.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function causeOf(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code) return `unreachable (${code})`;
  return `unreachable (${err?.cause?.message ?? err?.message ?? 'unknown error'})`;
}

interface Answer {
  status: number;
  body: unknown;
}

/**
 * Vault's "nothing there": a 404 without a message (`{"errors":[]}` for an empty LIST or a missing
 * secret, or the metadata of a deleted version). A 404 with a message (`no handler for route …`: no
 * such mount) is a misconfiguration, never an empty store.
 */
const isNothingThere = (answer: Answer) => answer.status === 404 && firstVaultError(answer.body) === null;

interface CallOptions {
  /** Send the token (not for login and health). */
  token?: string;
  namespace?: boolean;
  body?: unknown;
}

/** A Vault KV v2 backend as the secret resolver sees it. */
export function vaultBackend(options: VaultBackendOptions): VaultSecretBackend {
  const { name, config } = options;
  const timeoutMs = options.timeoutMs ?? VAULT_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const scopeFilter = options.scopeFilter ?? '**';
  const root = baseUrl(config.url);
  const label = `Vault backend ${name} (${root})`;
  const credentials = config.auth.method === 'token' ? [config.auth.token] : [config.auth.roleId, config.auth.secretId];
  const tokens = options.tokens ?? vaultTokenCache();
  // The cache key names the backend and a hash of what the token was made from: never the secret id.
  const cacheKey =
    config.auth.method === 'approle'
      ? `${name}:${createHash('sha256').update(JSON.stringify([root, config.namespace ?? '', config.auth.mount ?? 'approle', config.auth.roleId, config.auth.secretId])).digest('hex')}`
      : '';

  /** Anything quoted from Vault, with the credentials blanked out (they should never be there). */
  const scrub = (text: string) => credentials.reduce((t, c) => (c.length >= 4 ? t.split(c).join('***') : t), text);

  const failure = (what: string, answer: Answer) => {
    const said = firstVaultError(answer.body);
    return new VaultError(scrub(`${label}: ${what}: HTTP ${answer.status}${said ? ` (${said})` : ''}`), answer.status);
  };

  async function call(method: string, path: string, o: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'x-vault-request': 'true' };
    if (o.token !== undefined) headers['x-vault-token'] = o.token;
    if (o.namespace !== false && config.namespace) headers['x-vault-namespace'] = config.namespace;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(`${root}/v1/${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal, redirect: 'manual' });
      const text = await res.text();
      let body: unknown = null;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
      }
      return { status: res.status, body };
    } catch (e) {
      throw new VaultError(scrub(`${label}: ${method} ${decodeURIComponent(path.split('?')[0]!)}: ${causeOf(e, timeoutMs)}`), null);
    }
  }

  /** The token to send, logging in with AppRole when none is kept (or `fresh`). */
  async function token(fresh = false): Promise<{ token: string; kept: boolean }> {
    const auth = config.auth;
    if (auth.method === 'token') return { token: auth.token, kept: false };
    const kept = tokens.get(cacheKey);
    if (!fresh && kept && kept.expiresAt > now()) return { token: kept.token, kept: true };
    tokens.delete(cacheKey);
    const mount = auth.mount ?? 'approle';
    const answer = await call('POST', `auth/${encodePath(mount)}/login`, { body: { role_id: auth.roleId, secret_id: auth.secretId } });
    const login = (answer.body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | null)?.auth;
    if (answer.status !== 200 || typeof login?.client_token !== 'string' || login.client_token === '') {
      throw failure(`AppRole login (POST auth/${mount}/login)`, answer.status === 200 ? { status: 200, body: { errors: ['the answer holds no client_token'] } } : answer);
    }
    const lease = typeof login.lease_duration === 'number' && login.lease_duration > 0 ? login.lease_duration : VAULT_DEFAULT_LEASE_S;
    tokens.set(cacheKey, { token: login.client_token, expiresAt: now() + Math.max(0, lease * 1000 - VAULT_TOKEN_MARGIN_MS) });
    return { token: login.client_token, kept: false };
  }

  /** An authenticated call; a 403 with a kept AppRole token logs in again and retries once. */
  async function authed(method: string, path: string): Promise<Answer> {
    const first = await token();
    const answer = await call(method, path, { token: first.token });
    if (answer.status !== 403 || !first.kept) return answer;
    return call(method, path, { token: (await token(true)).token });
  }

  function orgSegment(orgId: string): string {
    if (orgId === '' || orgId === '.' || orgId === '..' || orgId.includes('/')) throw new VaultError(`${label}: organisation id ${JSON.stringify(orgId)} cannot name a Vault folder`, null);
    return orgId;
  }

  function scopeSegments(scope: string): string {
    const problem = scopeProblem(scope);
    if (problem) throw new VaultError(`${label}: scope ${JSON.stringify(scope)} ${problem}`, null);
    return scope;
  }

  const dataPath = (orgId: string, scope: string) => encodePath(config.mountPath, 'data', config.basePath, orgSegment(orgId), scopeSegments(scope));
  const shown = (path: string) => decodeURIComponent(path);

  /** The scope's KV data (`{}` when Vault has no such secret). */
  async function readScope(orgId: string, scope: string): Promise<Record<string, unknown>> {
    const path = dataPath(orgId, scope);
    const answer = await authed('GET', path);
    if (isNothingThere(answer)) return {};
    if (answer.status !== 200) throw failure(`reading scope ${scope} of ${orgId} (GET ${shown(path)})`, answer);
    const data = (answer.body as { data?: { data?: unknown } } | null)?.data?.data;
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new VaultError(`${label}: reading scope ${scope} of ${orgId} (GET ${shown(path)}): data.data is not an object`, 200);
    return data as Record<string, unknown>;
  }

  /** LIST a folder: its keys, or [] when Vault has nothing there (404). */
  async function listFolder(path: string, what: string): Promise<string[]> {
    const answer = await authed('LIST', `${path}/`);
    if (isNothingThere(answer)) return [];
    if (answer.status !== 200) throw failure(`${what} (LIST ${shown(path)}/)`, answer);
    const keys = (answer.body as { data?: { keys?: unknown } } | null)?.data?.keys;
    if (!Array.isArray(keys)) throw new VaultError(`${label}: ${what} (LIST ${shown(path)}/): data.keys is not a list`, 200);
    return keys.filter((k): k is string => typeof k === 'string');
  }

  return {
    name,

    async listScopes(orgId) {
      const orgRoot = encodePath(config.mountPath, 'metadata', config.basePath, orgSegment(orgId));
      const scopes = new Set<string>();
      let folders = 0;
      const walk = async (prefix: string, depth: number): Promise<void> => {
        if (++folders > VAULT_LIST_LIMITS.folders) throw new VaultError(`${label}: listing scopes of ${orgId}: more than ${VAULT_LIST_LIMITS.folders} folders`, null);
        const path = prefix === '' ? orgRoot : `${orgRoot}/${encodePath(prefix)}`;
        for (const key of await listFolder(path, `listing scopes of ${orgId}`)) {
          const folder = key.endsWith('/');
          const scope = `${prefix}${folder ? key.slice(0, -1) : key}`;
          // Only what a binding can name: a valid user scope (never `source/…`, `.` or `..`).
          if (scopeProblem(scope) !== null) continue;
          if (!folder) scopes.add(scope);
          else if (depth < VAULT_LIST_LIMITS.depth) await walk(`${scope}/`, depth + 1);
        }
      };
      await walk('', 1);
      return [...scopes].filter((scope) => patternMatches(scopeFilter, scope)).sort(compareCodePoints);
    },

    async names(orgId, scope) {
      return Object.keys(await readScope(orgId, scope)).sort(compareCodePoints);
    },

    async read(orgId, scope, wanted) {
      const data = await readScope(orgId, scope);
      const values: Record<string, string> = {};
      for (const key of wanted) {
        if (!Object.hasOwn(data, key)) continue;
        const value = data[key];
        if (typeof value === 'string') values[key] = value;
        else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
        else throw new VaultError(`${label}: ${key} in scope ${scope} of ${orgId} is not a string, number or boolean`, 200);
      }
      return values;
    },

    async health() {
      const checks: VaultHealthCheck[] = [];
      let version: string | null = null;
      let sealed: boolean | null = null;
      try {
        const answer = await call('GET', 'sys/health?standbyok=true&perfstandbyok=true', { namespace: false });
        const body = answer.body as { version?: unknown; sealed?: unknown } | null;
        version = typeof body?.version === 'string' ? body.version : null;
        sealed = typeof body?.sealed === 'boolean' ? body.sealed : null;
        const states: Record<number, string> = { 200: 'active and unsealed', 429: 'unsealed standby', 473: 'performance standby', 472: 'disaster-recovery secondary', 501: 'not initialised', 503: 'sealed' };
        const ok = answer.status === 200 || answer.status === 429 || answer.status === 473;
        const state = states[answer.status] ?? 'unexpected answer';
        checks.push({ check: 'sys/health', ok, detail: scrub(`HTTP ${answer.status}: ${state}${version ? ` (Vault ${version})` : ''}`) });
      } catch (e) {
        checks.push({ check: 'sys/health', ok: false, detail: (e as Error).message });
      }
      const base = encodePath(config.mountPath, 'metadata', config.basePath);
      try {
        const answer = await authed('LIST', `${base}/`);
        const ok = answer.status === 200 || isNothingThere(answer);
        const detail = ok ? `HTTP ${answer.status}: the ${config.auth.method === 'token' ? 'token' : 'AppRole token'} may list ${config.mountPath}/metadata/${config.basePath}/${answer.status === 404 ? ' (nothing stored there yet)' : ''}` : failure(`LIST ${shown(base)}/`, answer).message;
        checks.push({ check: 'list base path', ok, detail });
      } catch (e) {
        checks.push({ check: 'list base path', ok: false, detail: (e as Error).message });
      }
      const failed = checks.find((c) => !c.ok);
      return { healthy: !failed, version, sealed, checks, error: failed ? `${failed.check}: ${failed.detail}` : null };
    },
  };
}
