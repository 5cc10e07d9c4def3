/**
 * One GitHub App, over @octokit/core (requests) and @octokit/auth-app (the app JWT and the
 * installation-token exchange). Tokens are cached here, by the injected clock, until shortly before
 * GitHub's `expires_at`; auth-app's own cache is switched off so there is one source of truth.
 *
 * Calls (GitHub REST, api version 2022-11-28):
 * - `GET /repos/{owner}/{repo}/installation` (app JWT): the installation for a repository
 * - `POST /app/installations/{installation_id}/access_tokens` (app JWT, through auth-app)
 * - `GET /repos/{owner}/{repo}/contents/{path}?ref={sha}`: JSON (base64 `content`); files over
 *   1 MB come back with `encoding: "none"` and are read again with the raw media type
 * - `GET /repos/{owner}/{repo}` only after a 404 from the contents API, to tell a missing lock file
 *   from a repository the installation cannot see (GitHub answers 404 for both)
 * - `GET /repos/{owner}/{repo}/pulls/{pull_number}/files?per_page=100`, following `Link: rel="next"`
 *   (GitHub lists at most 3000 files)
 * - `POST /repos/{owner}/{repo}/check-runs`, `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`
 *
 * Every failure is a GitHubError whose message names the call and GitHub's answer and never the
 * token, the JWT or the key.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { systemClock, type Clock } from '../clock/index.js';
import { GitHubError, redact } from './errors.js';
import { Lru } from './lru.js';
import { capText } from './summary.js';
import { InstallationTokenCache, type InstallationToken } from './token-cache.js';

export const GITHUB_API_URL = 'https://api.github.com';
export const LOCKFILE_PATH = '.kici/kici.lock.json';
/** GitHub lists at most this many files of a pull request. */
export const PULL_FILES_CAP = 3000;

export interface GitHubAppOptions {
  appId: number | string;
  /** The app's private key, PEM (PKCS#1 as GitHub hands it out, or PKCS#8). */
  privateKey: string;
  /** `https://api.github.com` by default; GitHub Enterprise `https://HOST/api/v3`; a stand-in in tests. */
  baseUrl?: string;
  clock?: Clock;
  /** Installation tokens are replaced this long before they expire (5 min by default). */
  refreshBeforeMs?: number;
  /** Each HTTP request is abandoned after this long (10 s by default): a retryable error. */
  timeoutMs?: number;
  /** Lock files kept by repository and commit (256 by default). */
  lockfileCacheSize?: number;
  /** Lock files larger than this are refused (5 MiB by default). */
  lockfileMaxBytes?: number;
  userAgent?: string;
}

/** Which installation to act as; looked up from the repository when the caller does not know it. */
export interface InstallationHint {
  installationId?: number;
}

/** The lock file at a commit: found (with git's blob id, which names its content), or not there. */
export type GitHubLockfile = { kind: 'missing' } | { kind: 'found'; text: string; blob?: string };

export interface ChangedFiles {
  /** Paths the pull request touches; a rename lists the old and the new path. */
  files: string[];
  /** File entries GitHub listed. */
  count: number;
  /** GitHub stops listing at 3000 files: the list may be incomplete. */
  capped: boolean;
}

export type CheckRunStatus = 'queued' | 'in_progress' | 'completed';
export type CheckRunConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';

export interface CheckRunOutput {
  title: string;
  /** Markdown; cut to 65 535 bytes here (use renderCheckRunSummary to cut log context first). */
  summary: string;
  text?: string;
}

export interface CheckRunFields {
  status?: CheckRunStatus;
  /** Required with `completed`; giving one means completed. */
  conclusion?: CheckRunConclusion;
  detailsUrl?: string;
  externalId?: string;
  /** ISO 8601. */
  startedAt?: string;
  completedAt?: string;
  output?: CheckRunOutput;
}

export interface NewCheckRun extends CheckRunFields {
  name: string;
  headSha: string;
}

export interface CheckRun {
  id: number;
  name?: string;
  status?: string;
  conclusion?: string | null;
  htmlUrl?: string;
}

/** For git over https: basic auth in an `Authorization` header, never in the clone URL. */
export interface CloneCredentials {
  username: 'x-access-token';
  password: string;
  /** Epoch ms. */
  expiresAt: number;
}

class RequestTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'RequestTimeout';
  }
}

function timedFetch(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const outer = init?.signal;
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
    }
    // The timer also covers reading the body (which happens after fetch resolves); it is unref'd
    // and aborting a finished response does nothing.
    const timer = setTimeout(() => controller.abort(new RequestTimeout(timeoutMs)), timeoutMs);
    timer.unref?.();
    try {
      return await fetch(input, { ...init, signal: controller.signal });
    } catch (error) {
      clearTimeout(timer);
      if (controller.signal.reason instanceof RequestTimeout) throw controller.signal.reason;
      throw error;
    }
  };
}

const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

interface HttpFailure {
  status?: number;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
  cause?: unknown;
  message?: string;
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && chain.length < 5) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function githubMessage(data: unknown): string | undefined {
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  if (typeof data === 'string' && data.length > 0) {
    // A proxy's HTML error page: its text, briefly.
    const text = data.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    return text.length > 200 ? `${text.slice(0, 200)}…` : text || undefined;
  }
  return undefined;
}

export class GitHubApp {
  readonly appId: string;
  readonly baseUrl: string;
  private readonly octokit: Octokit;
  private readonly auth: ReturnType<typeof createAppAuth>;
  private readonly clock: Clock;
  private readonly tokens: InstallationTokenCache;
  private readonly installations = new Lru<string, number>(1024);
  private readonly lockfiles: Lru<string, GitHubLockfile>;
  private readonly lockfilesLoading = new Map<string, Promise<GitHubLockfile>>();
  private readonly lockfileMaxBytes: number;
  private readonly timeoutMs: number;
  private readonly secrets = new Set<string>();
  private hits = 0;
  private misses = 0;

  constructor(options: GitHubAppOptions) {
    this.appId = String(options.appId);
    this.baseUrl = (options.baseUrl ?? GITHUB_API_URL).replace(/\/+$/, '');
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.lockfileMaxBytes = options.lockfileMaxBytes ?? 5 * 1024 * 1024;
    this.lockfiles = new Lru(options.lockfileCacheSize ?? 256);
    this.secrets.add(options.privateKey);
    const quiet = () => undefined;
    this.octokit = new Octokit({
      baseUrl: this.baseUrl,
      userAgent: options.userAgent ?? 'kici',
      request: { fetch: timedFetch(this.timeoutMs) },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
    this.auth = createAppAuth({
      appId: options.appId,
      privateKey: options.privateKey,
      request: this.octokit.request,
      // Off: tokens are cached below, by the injected clock.
      cache: { get: () => '', set: () => undefined },
    });
    this.tokens = new InstallationTokenCache((id) => this.mintToken(id), {
      clock: this.clock,
      refreshBeforeMs: options.refreshBeforeMs,
    });
  }

  // ---- tokens ----

  /** An installation token, from the cache while it has more than `refreshBeforeMs` to live. */
  installationToken(installationId: number): Promise<InstallationToken> {
    return this.tokens.get(installationId);
  }

  /** Installation tokens minted so far. */
  tokenMints(): number {
    return this.tokens.mintCount();
  }

  /** The installation of this app on `owner/repo` (cached; GitHub answers 404 when it is not installed). */
  async installationFor(owner: string, repo: string): Promise<number> {
    const key = `${owner}/${repo}`.toLowerCase();
    const cached = this.installations.get(key);
    if (cached !== undefined) return cached;
    const jwt = await this.appJwt();
    const call = `GET /repos/${owner}/${repo}/installation`;
    try {
      const { data } = await this.octokit.request('GET /repos/{owner}/{repo}/installation', {
        owner,
        repo,
        headers: { authorization: `bearer ${jwt}` },
      });
      const id = Number((data as { id?: unknown }).id);
      if (!Number.isSafeInteger(id) || id <= 0) throw new GitHubError(`${call}: no installation id in the answer`, 'refused');
      this.installations.set(key, id);
      return id;
    } catch (error) {
      throw this.failure(error, call, {
        401: `GitHub refused the JWT of app ${this.appId}: check the app id and the private key`,
        404: `app ${this.appId} is not installed on ${owner}/${repo}`,
      });
    }
  }

  /** Basic-auth credentials for cloning over https (put them in a header, never in the URL). */
  async cloneCredentials(owner: string, repo: string, hint: InstallationHint = {}): Promise<CloneCredentials> {
    const installationId = hint.installationId ?? (await this.installationFor(owner, repo));
    const { token, expiresAt } = await this.tokens.get(installationId);
    return { username: 'x-access-token', password: token, expiresAt };
  }

  // ---- the lock file ----

  /**
   * `.kici/kici.lock.json` exactly as it is at commit `sha` (a full object id: only that names one
   * tree forever), cached by repository and commit. A 404 is `missing`: that commit asks for no runs.
   */
  async lockfile(owner: string, repo: string, sha: string, hint: InstallationHint = {}): Promise<GitHubLockfile> {
    if (!FULL_SHA.test(sha)) {
      throw new GitHubError(`the lock file is read at a full commit id, not ${JSON.stringify(sha.slice(0, 80))}`, 'refused');
    }
    const key = `${owner}/${repo}`.toLowerCase() + `@${sha}`;
    const cached = this.lockfiles.get(key);
    if (cached) {
      this.hits++;
      return cached;
    }
    const loading = this.lockfilesLoading.get(key);
    if (loading) {
      this.hits++;
      return loading;
    }
    this.misses++;
    const load = this.loadLockfile(owner, repo, sha, hint)
      .then((result) => {
        this.lockfiles.set(key, result);
        return result;
      })
      .finally(() => this.lockfilesLoading.delete(key));
    this.lockfilesLoading.set(key, load);
    return load;
  }

  /** Lock-file cache hits and misses (kici_lockfile_cache_{hits,misses}_total). */
  lockfileStats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  private async loadLockfile(owner: string, repo: string, sha: string, hint: InstallationHint): Promise<GitHubLockfile> {
    const call = `GET /repos/${owner}/${repo}/contents/${LOCKFILE_PATH}?ref=${sha}`;
    const route = 'GET /repos/{owner}/{repo}/contents/{+path}{?ref}';
    let data: unknown;
    try {
      ({ data } = await this.asInstallation(owner, repo, hint, (authorization) =>
        this.octokit.request(route, { owner, repo, path: LOCKFILE_PATH, ref: sha, headers: { authorization } }),
      ));
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) return this.missingUnlessRepositoryHidden(owner, repo, hint);
      throw error;
    }
    if (Array.isArray(data) || !data || typeof data !== 'object') return { kind: 'missing' };
    const file = data as { type?: string; encoding?: string; content?: string; sha?: string; size?: number };
    if (file.type !== 'file') return { kind: 'missing' };
    if (typeof file.size === 'number' && file.size > this.lockfileMaxBytes) {
      throw new GitHubError(`${LOCKFILE_PATH} at ${sha} in ${owner}/${repo} is larger than ${this.lockfileMaxBytes} bytes`, 'refused');
    }
    if (file.encoding === 'base64' && typeof file.content === 'string') {
      return { kind: 'found', text: Buffer.from(file.content, 'base64').toString('utf8'), blob: file.sha };
    }
    // Over 1 MB GitHub leaves `content` empty (`encoding: "none"`): read it again, raw.
    let raw: unknown;
    try {
      ({ data: raw } = await this.asInstallation(owner, repo, hint, (authorization) =>
        this.octokit.request(route, {
          owner,
          repo,
          path: LOCKFILE_PATH,
          ref: sha,
          headers: { authorization, accept: 'application/vnd.github.raw' },
        }),
      ));
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) return { kind: 'missing' };
      throw error;
    }
    const text = typeof raw === 'string' ? raw : raw instanceof ArrayBuffer ? Buffer.from(raw).toString('utf8') : undefined;
    if (text === undefined) throw new GitHubError(`${call}: the raw answer was not text`, 'refused');
    return { kind: 'found', text, blob: file.sha };
  }

  /**
   * GitHub answers 404 both for a path missing at a commit and for a repository the token cannot
   * see (another installation's id, the repository removed from the installation). Only the first
   * means "no lock file"; the second must not silently become "no runs".
   */
  private async missingUnlessRepositoryHidden(owner: string, repo: string, hint: InstallationHint): Promise<GitHubLockfile> {
    try {
      await this.asInstallation(owner, repo, hint, (authorization) =>
        this.octokit.request('GET /repos/{owner}/{repo}', { owner, repo, headers: { authorization } }),
      );
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) {
        throw new GitHubError(
          `${owner}/${repo} is not visible to the installation of app ${this.appId} (${error.message})`,
          'not_found',
          404,
        );
      }
      throw error;
    }
    return { kind: 'missing' };
  }

  // ---- pull requests ----

  /** The files a pull request changes, every page (GitHub stops at 3000 files: `capped` says so). */
  async changedFiles(owner: string, repo: string, pullNumber: number, hint: InstallationHint = {}): Promise<ChangedFiles> {
    const files = new Set<string>();
    let count = 0;
    let url: string | undefined = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/pulls/${pullNumber}/files?per_page=100`;
    for (let page = 0; url && page < PULL_FILES_CAP / 30 + 1; page++) {
      const pageUrl: string = url;
      const response = await this.asInstallation(owner, repo, hint, (authorization) =>
        this.octokit.request({ method: 'GET', url: pageUrl, headers: { authorization } }),
      );
      const entries = Array.isArray(response.data) ? (response.data as { filename?: string; previous_filename?: string }[]) : [];
      for (const entry of entries) {
        count++;
        if (entry.previous_filename) files.add(entry.previous_filename);
        if (entry.filename) files.add(entry.filename);
      }
      url = nextLink(response.headers.link);
      if (url && new URL(url, this.baseUrl).origin !== new URL(this.baseUrl).origin) {
        // The token goes only to the API it belongs to.
        throw new GitHubError(`GitHub GET ${pageUrl}: the next page is on another host (${new URL(url).origin})`, 'refused');
      }
      if (entries.length === 0) break;
    }
    return { files: [...files], count, capped: count >= PULL_FILES_CAP };
  }

  // ---- check runs ----

  async createCheckRun(owner: string, repo: string, run: NewCheckRun, hint: InstallationHint = {}): Promise<CheckRun> {
    const body = { name: run.name, head_sha: run.headSha, ...checkRunBody(run) };
    const { data } = await this.asInstallation(owner, repo, hint, (authorization) =>
      this.octokit.request('POST /repos/{owner}/{repo}/check-runs', { owner, repo, ...body, headers: { authorization } }),
    );
    return toCheckRun(data);
  }

  async updateCheckRun(
    owner: string,
    repo: string,
    checkRunId: number,
    fields: CheckRunFields & { name?: string },
    hint: InstallationHint = {},
  ): Promise<CheckRun> {
    const body = { ...(fields.name ? { name: fields.name } : {}), ...checkRunBody(fields) };
    const { data } = await this.asInstallation(owner, repo, hint, (authorization) =>
      this.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner,
        repo,
        check_run_id: checkRunId,
        ...body,
        headers: { authorization },
      }),
    );
    return toCheckRun(data);
  }

  // ---- plumbing ----

  private async appJwt(): Promise<string> {
    try {
      const { token } = await this.auth({ type: 'app' });
      this.secrets.add(token);
      return token;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GitHubError(redact(`could not sign the JWT of app ${this.appId}: ${reason}`, this.secrets), 'auth');
    }
  }

  private async mintToken(installationId: number): Promise<InstallationToken> {
    const call = `POST /app/installations/${installationId}/access_tokens`;
    try {
      const auth = await this.auth({ type: 'installation', installationId, refresh: true });
      this.secrets.add(auth.token);
      const expiresAt = Date.parse(auth.expiresAt);
      if (!Number.isFinite(expiresAt)) throw new GitHubError(`${call}: no expires_at in the answer`, 'refused');
      return { token: auth.token, expiresAt };
    } catch (error) {
      if (error instanceof GitHubError) throw error;
      if (!(error as HttpFailure)?.status && !(error as HttpFailure)?.response && !isNetworkOrTimeout(error)) {
        // Signing failed before any request (an unreadable key).
        const reason = error instanceof Error ? error.message : String(error);
        throw new GitHubError(redact(`could not sign the JWT of app ${this.appId}: ${reason}`, this.secrets), 'auth');
      }
      throw this.failure(error, call, {
        401: `GitHub refused the JWT of app ${this.appId}: check the app id and the private key`,
        403: `app ${this.appId} may not create tokens for installation ${installationId} (suspended?)`,
        404: `installation ${installationId} of app ${this.appId} does not exist (uninstalled?)`,
      });
    }
  }

  /**
   * Run `call` as the installation for `owner/repo`, with `authorization` set to its token. A 401
   * drops the token and tries once more with a fresh one (a revoked token); a 404 from the token
   * exchange forgets the repository's installation.
   */
  private async asInstallation<T>(
    owner: string,
    repo: string,
    hint: InstallationHint,
    call: (authorization: string) => Promise<T>,
  ): Promise<T> {
    const installationId = hint.installationId ?? (await this.installationFor(owner, repo));
    let token: InstallationToken;
    try {
      token = await this.tokens.get(installationId);
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) this.installations.delete(`${owner}/${repo}`.toLowerCase());
      throw error;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(`token ${token.token}`);
      } catch (error) {
        const status = (error as HttpFailure)?.status;
        if (status === 401 && attempt === 0) {
          this.tokens.invalidate(installationId, token.token);
          token = await this.tokens.get(installationId);
          continue;
        }
        throw this.failure(error, requestLine(error));
      }
    }
  }

  /** Any failure as a GitHubError with a redacted message, sorted by what the caller should do. */
  private failure(error: unknown, call: string, explain: Partial<Record<number, string>> = {}): GitHubError {
    if (error instanceof GitHubError) return error;
    const chain = causeChain(error);
    const timeout = chain.find((e): e is RequestTimeout => e instanceof RequestTimeout);
    if (timeout) return this.error(`GitHub ${call}: timed out (${timeout.message})`, 'retryable');
    const failure = error as HttpFailure;
    const status = typeof failure?.status === 'number' ? failure.status : undefined;
    if (!failure?.response) {
      // No answer at all: the connection failed (octokit reports these as status 500).
      const reason = chain
        .map((e) => (e instanceof Error ? e.message : ''))
        .filter(Boolean)
        .join(': ');
      return this.error(`GitHub ${call}: no answer (${reason || 'network error'})`, 'retryable');
    }
    const headers = failure.response.headers ?? {};
    const said = githubMessage(failure.response.data) ?? '';
    const detail = said.startsWith(String(status)) ? said : `${status}${said ? ` ${said}` : ''}`;
    const rateLimited =
      status === 429 || (status === 403 && (headers['x-ratelimit-remaining'] === '0' || headers['retry-after'] !== undefined || /rate limit/i.test(said)));
    if (rateLimited) {
      return this.error(`GitHub ${call}: rate limited (${detail})`, 'retryable', status, this.retryAfter(headers));
    }
    if (status !== undefined && status >= 500) return this.error(`GitHub ${call}: ${detail}`, 'retryable', status);
    const explanation = status !== undefined ? explain[status] : undefined;
    const message = `GitHub ${call}: ${detail}${explanation ? ` (${explanation})` : ''}`;
    if (status === 401) return this.error(message, 'auth', status);
    if (status === 404) return this.error(message, 'not_found', status);
    return this.error(message, 'refused', status);
  }

  private error(message: string, kind: GitHubError['kind'], status?: number, retryAfterMs?: number): GitHubError {
    return new GitHubError(redact(message, this.secrets), kind, status, retryAfterMs);
  }

  private retryAfter(headers: Record<string, string | undefined>): number | undefined {
    const after = Number(headers['retry-after']);
    if (Number.isFinite(after) && after >= 0) return after * 1000;
    const reset = Number(headers['x-ratelimit-reset']);
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - this.clock.now());
    return undefined;
  }
}

function isNetworkOrTimeout(error: unknown): boolean {
  return causeChain(error).some((e) => e instanceof RequestTimeout || (e instanceof TypeError && /fetch failed/.test(e.message)));
}

/** `METHOD path` of a failed octokit request, without the host or the query's secrets (there are none). */
function requestLine(error: unknown): string {
  const request = (error as { request?: { method?: string; url?: string } })?.request;
  if (!request?.url) return 'request';
  let path = request.url;
  try {
    const url = new URL(request.url);
    path = url.pathname + url.search;
  } catch {
    // a relative url already
  }
  return `${request.method ?? 'GET'} ${decodeURIComponent(path)}`;
}

/** The `rel="next"` target of a Link header. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match && match[2]!.split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

function checkRunBody(fields: CheckRunFields): Record<string, unknown> {
  if (fields.status === 'completed' && !fields.conclusion) {
    throw new GitHubError('a completed check run needs a conclusion', 'refused');
  }
  if (fields.conclusion && fields.status && fields.status !== 'completed') {
    throw new GitHubError(`a check run with a conclusion is completed, not ${fields.status}`, 'refused');
  }
  const body: Record<string, unknown> = {};
  if (fields.status) body.status = fields.status;
  if (fields.conclusion) body.conclusion = fields.conclusion;
  if (fields.detailsUrl) body.details_url = fields.detailsUrl;
  if (fields.externalId) body.external_id = fields.externalId;
  if (fields.startedAt) body.started_at = fields.startedAt;
  if (fields.completedAt) body.completed_at = fields.completedAt;
  if (fields.output) {
    body.output = {
      title: fields.output.title,
      summary: capText(fields.output.summary),
      ...(fields.output.text !== undefined ? { text: capText(fields.output.text) } : {}),
    };
  }
  return body;
}

function toCheckRun(data: unknown): CheckRun {
  const run = data as { id?: unknown; name?: string; status?: string; conclusion?: string | null; html_url?: string };
  const id = Number(run?.id);
  if (!Number.isSafeInteger(id)) throw new GitHubError('GitHub answered a check-run call without an id', 'refused');
  return { id, name: run.name, status: run.status, conclusion: run.conclusion, htmlUrl: run.html_url };
}
