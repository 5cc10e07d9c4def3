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
 * - `GET /repos/{owner}/{repo}/commits/{ref}` (after `GET /repos/{owner}/{repo}` for the default
 *   branch): the commit a ref names, for events that name no commit
 * - `GET /repos/{owner}/{repo}/collaborators/{username}/permission`: a pull request author's
 *   permission, cached 15 minutes by repository and user id
 * - `POST /repos/{owner}/{repo}/check-runs`, `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`,
 *   `GET /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=` (find one created before)
 *
 * Every failure is a GitHubError whose message names the call and GitHub's answer and never the
 * token, the JWT or the key.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { systemClock, type Clock } from '../clock/index.js';
import { GitHubError, redact } from './errors.js';
import { checkRunBody, toCheckRun, type CheckRun, type CheckRunFields, type NewCheckRun } from './check-runs.js';
import { causeChain, FULL_SHA, githubMessage, isNetworkOrTimeout, nextLink, requestLine, RequestTimeout, timedFetch, type HttpFailure } from './http.js';
import { Lru } from '../lru/index.js';
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

/** A user's role in a repository, highest first (`maintain` and `triage` are organisation roles). */
export const PERMISSIONS = ['admin', 'maintain', 'write', 'triage', 'read', 'none'] as const;
export type RepositoryPermission = (typeof PERMISSIONS)[number];

/** KiCI's lifetime for a provider permission answer. */
const PERMISSION_TTL_MS = 15 * 60_000;

/** A repository as runs need it when no webhook described it. */
export interface RepositoryFacts {
  defaultBranch: string;
  /** `https://github.com/owner/name.git` (or the Enterprise host's). */
  cloneUrl: string;
}

/** A ref (`refs/heads/B` for the default branch) and the commit it names. */
export interface RefTip {
  ref: string;
  sha: string;
}

/** For git over https: basic auth in an `Authorization` header, never in the clone URL. */
export interface CloneCredentials {
  username: 'x-access-token';
  password: string;
  /** Epoch ms. */
  expiresAt: number;
}

export class GitHubApp {
  readonly appId: string;
  readonly baseUrl: string;
  private readonly octokit: Octokit;
  private readonly auth: ReturnType<typeof createAppAuth>;
  private readonly clock: Clock;
  private readonly tokens: InstallationTokenCache;
  private readonly installations = new Lru<string, number>(1024);
  private readonly permissions = new Lru<string, { permission: RepositoryPermission; until: number }>(4096);
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
  async lockfile(owner: string, repo: string, sha: string, hint: InstallationHint = {}): Promise<GitHubLockfile & { cached: boolean }> {
    if (!FULL_SHA.test(sha)) {
      throw new GitHubError(`the lock file is read at a full commit id, not ${JSON.stringify(sha.slice(0, 80))}`, 'refused');
    }
    const key = `${owner}/${repo}`.toLowerCase() + `@${sha}`;
    const known = this.lockfiles.get(key) ?? this.lockfilesLoading.get(key);
    if (known) {
      this.hits++;
      return { ...(await known), cached: true };
    }
    this.misses++;
    const load = this.loadLockfile(owner, repo, sha, hint)
      .then((result) => {
        this.lockfiles.set(key, result);
        return result;
      })
      .finally(() => this.lockfilesLoading.delete(key));
    this.lockfilesLoading.set(key, load);
    return { ...(await load), cached: false };
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
      url = this.samePlace(nextLink(response.headers.link), pageUrl);
      if (entries.length === 0) break;
    }
    return { files: [...files], count, capped: count >= PULL_FILES_CAP };
  }

  // ---- commits ----

  /**
   * The commit a ref names now (`refs/heads/B`, `refs/tags/T`, or a bare branch name), or the
   * default branch's tip when no ref is given: for events that name no commit.
   */
  async commitAt(owner: string, repo: string, ref?: string, hint: InstallationHint = {}): Promise<RefTip> {
    const named = ref ?? (await this.defaultBranch(owner, repo, hint));
    // The commits API takes `heads/B` or `tags/T`, which cannot be mistaken for each other.
    const path = named.startsWith('refs/') ? named.slice('refs/'.length) : named;
    const { data } = await this.asInstallation(owner, repo, hint, (authorization) =>
      this.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', { owner, repo, ref: path, headers: { authorization } }),
    );
    const sha = (data as { sha?: unknown }).sha;
    if (typeof sha !== 'string' || !FULL_SHA.test(sha)) throw new GitHubError(`GitHub GET /repos/${owner}/${repo}/commits/${path}: no commit sha in the answer`, 'refused');
    return { ref: named, sha };
  }

  private async defaultBranch(owner: string, repo: string, hint: InstallationHint): Promise<string> {
    return `refs/heads/${(await this.repository(owner, repo, hint)).defaultBranch}`;
  }

  /** What runs need of a repository that no webhook described: where it clones from, its default branch. */
  async repository(owner: string, repo: string, hint: InstallationHint = {}): Promise<RepositoryFacts> {
    const { data } = await this.asInstallation(owner, repo, hint, (authorization) =>
      this.octokit.request('GET /repos/{owner}/{repo}', { owner, repo, headers: { authorization } }),
    );
    const { default_branch: branch, clone_url: cloneUrl } = data as { default_branch?: unknown; clone_url?: unknown };
    if (typeof branch !== 'string' || branch === '') throw new GitHubError(`GitHub GET /repos/${owner}/${repo}: no default_branch in the answer`, 'refused');
    if (typeof cloneUrl !== 'string' || !/^https?:\/\//.test(cloneUrl)) throw new GitHubError(`GitHub GET /repos/${owner}/${repo}: no clone_url in the answer`, 'refused');
    return { defaultBranch: branch, cloneUrl };
  }

  // ---- who may change workflows ----

  /**
   * What a user may do in a repository (`admin`, `maintain`, `write`, `triage`, `read` or `none`),
   * asked by login and trusted only for the numeric id the webhook named: a login can be renamed
   * and taken by someone else, an id cannot. Cached for 15 minutes by repository and id.
   */
  async permission(owner: string, repo: string, user: { login: string; id: number }, hint: InstallationHint = {}): Promise<RepositoryPermission> {
    const key = `${owner}/${repo}`.toLowerCase() + `#${user.id}`;
    const cached = this.permissions.get(key);
    if (cached && cached.until > this.clock.now()) return cached.permission;
    let permission: RepositoryPermission;
    try {
      const { data } = await this.asInstallation(owner, repo, hint, (authorization) =>
        this.octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { owner, repo, username: user.login, headers: { authorization } }),
      );
      const answer = data as { permission?: unknown; role_name?: unknown; user?: { id?: unknown } | null };
      const named = typeof answer.role_name === 'string' && PERMISSIONS.includes(answer.role_name as RepositoryPermission) ? answer.role_name : answer.permission;
      permission = Number(answer.user?.id) === user.id && PERMISSIONS.includes(named as RepositoryPermission) ? (named as RepositoryPermission) : 'none';
    } catch (error) {
      // GitHub answers 404 for a login that is not a user (renamed away): no permission.
      if (!(error instanceof GitHubError && error.status === 404)) throw error;
      permission = 'none';
    }
    this.permissions.set(key, { permission, until: this.clock.now() + PERMISSION_TTL_MS });
    return permission;
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

  /** Check runs named `name` on commit `sha`, every page (newest first, as GitHub lists them), to find one this app created before. */
  async findCheckRuns(owner: string, repo: string, sha: string, name: string, hint: InstallationHint = {}): Promise<CheckRun[]> {
    const found: CheckRun[] = [];
    const query = new URLSearchParams({ check_name: name, filter: 'all', per_page: '100' });
    let url: string | undefined = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/commits/${encodeURIComponent(sha)}/check-runs?${query}`;
    // GitHub keeps at most 1000 check runs of one suite; 20 pages is past any commit's count.
    for (let page = 0; url && page < 20; page++) {
      const pageUrl: string = url;
      const response = await this.asInstallation(owner, repo, hint, (authorization) => this.octokit.request({ method: 'GET', url: pageUrl, headers: { authorization } }));
      const runs = (response.data as { check_runs?: unknown }).check_runs;
      if (!Array.isArray(runs) || runs.length === 0) break;
      found.push(...runs.map(toCheckRun));
      url = this.samePlace(nextLink(response.headers.link), pageUrl);
    }
    return found;
  }

  // ---- plumbing ----

  /** A `Link: rel="next"` target, refused when it leaves the API: the token goes only to the API it belongs to. */
  private samePlace(next: string | undefined, pageUrl: string): string | undefined {
    if (next && new URL(next, this.baseUrl).origin !== new URL(this.baseUrl).origin) {
      throw new GitHubError(`GitHub GET ${pageUrl}: the next page is on another host (${new URL(next).origin})`, 'refused');
    }
    return next;
  }

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

