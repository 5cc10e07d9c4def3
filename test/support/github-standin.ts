/**
 * A GitHub REST API stand-in for one GitHub App: an HTTP server on 127.0.0.1 answering the calls
 * kici's github room makes, with the checks GitHub applies to who is calling.
 *
 * Authentication, as GitHub documents it ("Generating a JSON Web Token (JWT) for a GitHub App",
 * "Authenticating as a GitHub App installation"):
 * - App routes take `Authorization: Bearer <JWT>`: RS256, verified with the app's PUBLIC key; `iss`
 *   must be the app id, `exp` in the future and at most 10 minutes ahead, `iat` not in the future
 *   (60 s of drift allowed). Refusals are 401; the exp/iat messages are GitHub's (the strings
 *   @octokit/auth-app matches in its clock-skew handling); a bad signature, a malformed token and
 *   (an assumption: GitHub picks the key by `iss`, so the signature cannot check) a wrong `iss`
 *   all answer `A JSON web token could not be decoded`.
 * - Installation routes take `Authorization: token <t>` (or `Bearer <t>`) with a token this
 *   stand-in issued, not expired, for an installation that covers the repository: otherwise 401
 *   `Bad credentials` (unknown or expired token) or 404 (another installation's repository).
 *
 * Routes:
 * - `GET /repos/{owner}/{repo}/installation` (JWT): the installation, or 404.
 * - `GET /repos/{owner}/{repo}` (token): the repository (the get-repository fixture's recorded
 *   answer, renamed), or 404 when the token's installation does not cover it.
 * - `POST /app/installations/{id}/access_tokens` (JWT): 201 `{token, expires_at, permissions,
 *   repository_selection}`; `tokenTtlMs` (1 h by default, GitHub's lifetime) makes short-lived ones.
 * - `GET /repos/{owner}/{repo}/contents/{path}?ref={sha}`: the file set by the test at that ref as
 *   JSON with base64 `content` (files over `largeFileBytes`, 1 MB by default, with `encoding:
 *   "none"` and empty content, as GitHub does), or raw with `Accept: application/vnd.github.raw`;
 *   a missing file 404 `{"message":"Not Found","documentation_url":…}`.
 * - `GET /repos/{owner}/{repo}/pulls/{n}/files?per_page&page`: the files set by the test, paged
 *   (30 by default, at most 100), a `Link` header with next/last/first/prev, at most 3000 files.
 * - `GET /repos/{owner}/{repo}/commits/{ref}` (`heads/B`, `tags/T` or a bare branch name): the
 *   commit set by `setBranch`/`setTag` (`{sha, node_id, commit, html_url, …}`), or 422 `No commit
 *   found for SHA: …` as GitHub answers; `setBranch(…, {default: true})` also makes the branch the
 *   repository's `default_branch`.
 * - `GET /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=&per_page&page`: `{total_count,
 *   check_runs}` of the recorded check runs on that commit (newest first), filtered by name, paged
 *   (30 by default, at most 100) with a `Link` header.
 * - `GET /repos/{owner}/{repo}/collaborators/{username}/permission`: `{permission, role_name, user}`
 *   as set by `setPermission` (`permission` is the legacy name: `maintain` → `write`, `triage` →
 *   `read`, as GitHub answers); a login never set is 404 `Not Found` (GitHub: "is not a user").
 * - `POST /repos/{owner}/{repo}/check-runs`, `PATCH …/check-runs/{id}`: recorded in `checkRuns`
 *   (every call kept in `history`); 422 `Validation Failed` for a missing name/head_sha or an
 *   `output.summary`/`output.text` over 65 535 characters.
 * - Anything else: 404.
 *
 * Injected failures (`failNext`): 500, 502, 403 rate limit (`x-ratelimit-remaining: 0`,
 * `x-ratelimit-reset`), or hang (the request is read and never answered), for the next N requests
 * whose `METHOD path` matches.
 *
 * Where the bodies come from:
 * - From @octokit/fixtures' recorded responses (scenarios/api.github.com/): the content entry's
 *   fields and link layout (`get-content`, `create-file`: name, path, sha, size, url, html_url,
 *   git_url, download_url, type, _links), the raw contents response's content type (`get-content`),
 *   the Link header layout of paged lists (`paginate-issues`), the error body layout
 *   `{message, documentation_url}` (`errors`), and the common response headers (x-ratelimit-*,
 *   x-github-media-type, x-github-request-id), and the repository object served whole from the
 *   `get-repository` fixture (read from the package at start, names and URLs rewritten).
 * - Written from GitHub's REST docs (no fixture covers them): the installation object, the
 *   access-token answer, the pull-request file entries (diff entries), check-run objects, the
 *   401/403/404/422/5xx bodies' messages.
 *
 * Every request is recorded (method, path, query, which kind of credentials came — never the
 * credentials themselves) for assertions.
 */
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';

const REPOSITORY_FIXTURE: unknown = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/fixtures/scenarios/api.github.com/get-repository/normalized-fixture.json'),
    'utf8',
  ),
);

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  auth: 'jwt' | 'token' | 'none';
  accept: string;
}

export interface PullFile {
  filename: string;
  status?: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  previous_filename?: string;
}

export interface RecordedCheckRun {
  id: number;
  owner: string;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  details_url?: string;
  external_id?: string;
  output?: { title?: string; summary?: string; text?: string };
  history: { method: 'POST' | 'PATCH'; body: Record<string, unknown> }[];
}

export type InjectedFailure = 'server_error' | 'bad_gateway' | 'rate_limit' | 'hang';

export interface GitHubStandInOptions {
  appId: number;
  /** The app's public key (PEM or a KeyObject): JWTs are verified with it. */
  publicKey: string | KeyObject;
  /** Lifetime of the installation tokens issued (1 h by default). */
  tokenTtlMs?: number;
  /** Files larger than this come back from the contents API with `encoding: "none"`. */
  largeFileBytes?: number;
  /** Wall clock in ms (Date.now by default). */
  now?: () => number;
}

interface Installation {
  id: number;
  account: string;
  repos: Set<string>;
}

interface IssuedToken {
  installationId: number;
  expiresAt: number;
}

const DOCS = 'https://docs.github.com/rest';
const COMMON_HEADERS = {
  'x-github-api-version-selected': '2022-11-28',
  'x-ratelimit-limit': '5000',
  'x-ratelimit-remaining': '4999',
  'x-ratelimit-resource': 'core',
  'x-ratelimit-used': '1',
};

function base64url(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function gitBlobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export class GitHubStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly checkRuns = new Map<number, RecordedCheckRun>();
  /** Tokens issued, in order (the tests check none of them leaks into an error). */
  readonly issuedTokens: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly publicKey: KeyObject;
  private readonly installations = new Map<number, Installation>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly files = new Map<string, Buffer>();
  private readonly pulls = new Map<string, PullFile[]>();
  private readonly refs = new Map<string, string>();
  private readonly permissions = new Map<string, { id: number; role: string }>();
  private readonly defaultBranches = new Map<string, string>();
  private readonly cloneUrls = new Map<string, string>();
  private failures: { kind: InjectedFailure; match?: RegExp; left: number }[] = [];
  private nextCheckRunId = 4_000_000;
  private readonly repoIds = new Map<string, number>();
  private port = 0;
  tokenTtlMs: number;
  /** Where Link headers point (this server by default; another host to test the client refuses). */
  pageLinkBase: string | undefined;
  largeFileBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: GitHubStandInOptions) {
    this.publicKey = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey;
    this.tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
    this.largeFileBytes = options.largeFileBytes ?? 1024 * 1024;
    this.now = options.now ?? (() => Date.now());
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Install the app on repositories (`owner/repo`) as installation `id`. */
  install(id: number, repos: string[]): void {
    const account = repos[0]?.split('/')[0] ?? 'octokit-fixture-org';
    const installation = this.installations.get(id) ?? { id, account, repos: new Set<string>() };
    for (const repo of repos) {
      installation.repos.add(repo.toLowerCase());
      this.repoId(repo);
    }
    this.installations.set(id, installation);
  }

  uninstall(id: number): void {
    this.installations.delete(id);
  }

  private repoId(repo: string): number {
    const key = repo.toLowerCase();
    if (!this.repoIds.has(key)) this.repoIds.set(key, 1000 + this.repoIds.size);
    return this.repoIds.get(key)!;
  }

  /** A file of `owner/repo` at commit `ref`. */
  setFile(repo: string, ref: string, path: string, content: string | Buffer): void {
    this.files.set(`${repo.toLowerCase()}@${ref}:${path}`, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
  }

  /** Branch `branch` of `owner/repo` points at `sha`; `default` makes it the repository's default branch. */
  setBranch(repo: string, branch: string, sha: string, options: { default?: boolean } = {}): void {
    this.refs.set(`${repo.toLowerCase()}#heads/${branch}`, sha);
    if (options.default) this.defaultBranches.set(repo.toLowerCase(), branch);
  }

  /** `login` (user `id`) has `role` (`admin`, `maintain`, `write`, `triage`, `read`, `none`) on `owner/repo`. */
  setPermission(repo: string, login: string, id: number, role: string): void {
    this.permissions.set(`${repo.toLowerCase()}#${login.toLowerCase()}`, { id, role });
  }

  /** Where `GET /repos/{owner}/{repo}` says the repository clones from (a git server of the test's). */
  setCloneUrl(repo: string, url: string): void {
    this.cloneUrls.set(repo.toLowerCase(), url);
  }

  setTag(repo: string, tag: string, sha: string): void {
    this.refs.set(`${repo.toLowerCase()}#tags/${tag}`, sha);
  }

  setPullFiles(repo: string, pullNumber: number, files: (string | PullFile)[]): void {
    this.pulls.set(`${repo.toLowerCase()}#${pullNumber}`, files.map((f) => (typeof f === 'string' ? { filename: f } : f)));
  }

  /** The next `times` requests whose `METHOD /path` matches `match` (every request by default) fail so. */
  failNext(kind: InjectedFailure, options: { times?: number; match?: RegExp } = {}): void {
    this.failures.push({ kind, match: options.match, left: options.times ?? 1 });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Expire every token issued so far (as if an hour had passed, or they were revoked). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** Is `token` one this stand-in issued, unexpired, for an installation covering `repo` (as git over https checks it)? */
  validToken(token: string, repo: string): boolean {
    const issued = this.tokens.get(token);
    const installation = issued ? this.installations.get(issued.installationId) : undefined;
    return !!issued && issued.expiresAt > this.now() && !!installation?.repos.has(repo.toLowerCase());
  }

  count(method: string, pattern: RegExp): number {
    return this.requests.filter((r) => r.method === method && pattern.test(r.path)).length;
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const authorization = req.headers.authorization ?? '';
    const credential = /^(?:bearer|token)\s+(\S+)$/i.exec(authorization)?.[1];
    const auth: RecordedRequest['auth'] = !credential ? 'none' : credential.split('.').length === 3 ? 'jwt' : 'token';
    this.requests.push({ method, path: decodeURIComponent(path), query: url.search, auth, accept: String(req.headers.accept ?? '') });
    const raw = await readBody(req);

    const failure = this.takeFailure(`${method} ${decodeURIComponent(path)}`);
    if (failure === 'hang') return; // read, never answered
    if (failure === 'server_error') return this.json(res, 500, { message: 'Server Error' });
    if (failure === 'bad_gateway') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    if (failure === 'rate_limit') {
      const reset = Math.ceil(this.now() / 1000) + 60;
      return this.json(
        res,
        403,
        {
          message: 'API rate limit exceeded for installation ID 1.',
          documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
        },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      );
    }

    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return this.json(res, 400, { message: 'Problems parsing JSON', documentation_url: DOCS });
      }
    }
    let segments = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    // GitHub's Link headers name the repository by id (`/repositories/{id}/…`, as in the
    // paginate-issues fixture); the stand-in answers that form too.
    if (segments[0] === 'repositories') {
      const named = [...this.repoIds.entries()].find(([, id]) => id === Number(segments[1]))?.[0];
      if (!named) return this.notFound(res, '');
      segments = ['repos', ...named.split('/'), ...segments.slice(2)];
    }

    // App routes (JWT).
    if (method === 'POST' && segments[0] === 'app' && segments[1] === 'installations' && segments[3] === 'access_tokens') {
      if (!this.checkJwt(credential, res)) return;
      const installation = this.installations.get(Number(segments[2]));
      if (!installation) return this.notFound(res, 'apps/apps#create-an-installation-access-token-for-an-app');
      const token = `ghs_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
      const expiresAt = this.now() + this.tokenTtlMs;
      this.tokens.set(token, { installationId: installation.id, expiresAt });
      this.issuedTokens.push(token);
      return this.json(res, 201, {
        token,
        // GitHub gives whole seconds.
        expires_at: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
        permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read' },
        repository_selection: 'selected',
      });
    }
    if (segments[0] !== 'repos' || segments.length < 3) return this.notFound(res, '');
    const repo = `${segments[1]}/${segments[2]}`;
    const rest = segments.slice(3);

    if (method === 'GET' && rest.length === 1 && rest[0] === 'installation') {
      if (!this.checkJwt(credential, res)) return;
      const installation = [...this.installations.values()].find((i) => i.repos.has(repo.toLowerCase()));
      if (!installation) return this.notFound(res, 'apps/apps#get-a-repository-installation-for-the-authenticated-app');
      return this.json(res, 200, this.installationBody(installation));
    }

    // Installation routes (token).
    const installation = this.checkToken(credential, res);
    if (!installation) return;
    if (!installation.repos.has(repo.toLowerCase())) return this.notFound(res, '');

    if (method === 'GET' && rest.length === 0) return this.json(res, 200, this.repositoryBody(repo));

    if (method === 'GET' && rest[0] === 'contents' && rest.length >= 2) {
      const filePath = rest.slice(1).join('/');
      const ref = url.searchParams.get('ref') ?? 'main';
      const content = this.files.get(`${repo.toLowerCase()}@${ref}:${filePath}`);
      if (!content) return this.notFound(res, 'repos/contents#get-repository-content');
      const accept = String(req.headers.accept ?? '');
      if (/vnd\.github(\.v3)?\.raw/.test(accept)) {
        res.writeHead(200, {
          ...COMMON_HEADERS,
          'content-type': 'application/vnd.github.raw; charset=utf-8',
          'x-github-media-type': 'github.v3; param=raw',
        });
        res.end(content);
        return;
      }
      const sha = gitBlobSha(content);
      const name = filePath.split('/').pop()!;
      const api = `${this.url}/repos/${repo}`;
      const large = content.length > this.largeFileBytes;
      return this.json(res, 200, {
        type: 'file',
        encoding: large ? 'none' : 'base64',
        size: content.length,
        name,
        path: filePath,
        // GitHub wraps base64 content at 60 characters.
        content: large ? '' : (content.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + '\n',
        sha,
        url: `${api}/contents/${filePath}?ref=${ref}`,
        git_url: `${api}/git/blobs/${sha}`,
        html_url: `https://github.com/${repo}/blob/${ref}/${filePath}`,
        download_url: `https://raw.githubusercontent.com/${repo}/${ref}/${filePath}`,
        _links: {
          self: `${api}/contents/${filePath}?ref=${ref}`,
          git: `${api}/git/blobs/${sha}`,
          html: `https://github.com/${repo}/blob/${ref}/${filePath}`,
        },
      });
    }

    if (method === 'GET' && rest[0] === 'pulls' && rest[2] === 'files' && rest.length === 3) {
      const files = this.pulls.get(`${repo.toLowerCase()}#${Number(rest[1])}`);
      if (!files) return this.notFound(res, 'pulls/pulls#list-pull-requests-files');
      const listed = files.slice(0, 3000);
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const last = Math.max(1, Math.ceil(listed.length / perPage));
      const pageUrl = (n: number) => `${this.pageLinkBase ?? this.url}/repositories/${this.repoId(repo)}/pulls/${rest[1]}/files?per_page=${perPage}&page=${n}`;
      const links: string[] = [];
      if (page > 1) links.push(`<${pageUrl(page - 1)}>; rel="prev"`);
      if (page < last) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(last)}>; rel="last"`);
      if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`);
      const entries = listed.slice((page - 1) * perPage, page * perPage).map((f, i) => ({
        sha: createHash('sha1').update(f.filename).digest('hex'),
        filename: f.filename,
        status: f.status ?? (f.previous_filename ? 'renamed' : 'modified'),
        additions: 1,
        deletions: 0,
        changes: 1,
        blob_url: `https://github.com/${repo}/blob/${i}/${f.filename}`,
        raw_url: `https://github.com/${repo}/raw/${i}/${f.filename}`,
        contents_url: `${this.url}/repos/${repo}/contents/${f.filename}`,
        patch: '@@ -0,0 +1 @@\n+x',
        ...(f.previous_filename ? { previous_filename: f.previous_filename } : {}),
      }));
      return this.json(res, 200, entries, links.length > 0 ? { link: links.join(', ') } : {});
    }

    if (method === 'GET' && rest[0] === 'collaborators' && rest.length === 3 && rest[2] === 'permission') {
      const found = this.permissions.get(`${repo.toLowerCase()}#${rest[1]!.toLowerCase()}`);
      if (!found) return this.notFound(res, 'collaborators/collaborators#get-repository-permissions-for-a-user');
      const legacy: Record<string, string> = { maintain: 'write', triage: 'read' };
      return this.json(res, 200, {
        permission: legacy[found.role] ?? found.role,
        role_name: found.role,
        user: { login: rest[1], id: found.id, type: 'User', site_admin: false, permissions: {} },
      });
    }

    if (method === 'GET' && rest[0] === 'commits' && rest.length === 3 && rest[2] === 'check-runs') {
      const name = url.searchParams.get('check_name');
      const runs = [...this.checkRuns.values()]
        .filter((r) => r.repo.toLowerCase() === segments[2]!.toLowerCase() && r.head_sha === rest[1] && (name === null || r.name === name))
        .reverse();
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const last = Math.max(1, Math.ceil(runs.length / perPage));
      const pageUrl = (n: number) => {
        const next = new URL(url.toString());
        next.searchParams.set('page', String(n));
        return `${this.pageLinkBase ?? this.url}${next.pathname}${next.search}`;
      };
      const links: Record<string, string> = page < last ? { link: `<${pageUrl(page + 1)}>; rel="next", <${pageUrl(last)}>; rel="last"` } : {};
      const shown = runs.slice((page - 1) * perPage, page * perPage).map((r) => this.checkRunBody(r));
      return this.json(res, 200, { total_count: runs.length, check_runs: shown }, links);
    }

    if (method === 'GET' && rest[0] === 'commits' && rest.length >= 2) {
      const ref = rest.slice(1).join('/');
      const key = repo.toLowerCase();
      const sha = this.refs.get(`${key}#${ref}`) ?? this.refs.get(`${key}#heads/${ref}`);
      if (!sha) {
        return this.json(res, 422, { message: `No commit found for SHA: ${ref}`, documentation_url: 'https://docs.github.com/rest/commits/commits#get-a-commit', status: '422' });
      }
      return this.json(res, 200, {
        sha,
        node_id: 'C_kwDOAAAAAA',
        commit: { message: 'stand-in commit', tree: { sha: createHash('sha1').update(sha).digest('hex') } },
        url: `${this.url}/repos/${repo}/commits/${sha}`,
        html_url: `https://github.com/${repo}/commit/${sha}`,
        parents: [],
      });
    }

    if (rest[0] === 'check-runs' && ((method === 'POST' && rest.length === 1) || (method === 'PATCH' && rest.length === 2))) {
      const invalid = this.validateCheckRun(body, method === 'POST');
      if (invalid) {
        return this.json(res, 422, {
          message: 'Validation Failed',
          errors: [{ resource: 'CheckRun', code: 'invalid', field: invalid }],
          documentation_url: 'https://docs.github.com/rest/checks/runs#create-a-check-run',
        });
      }
      let run: RecordedCheckRun;
      if (method === 'POST') {
        run = {
          id: this.nextCheckRunId++,
          owner: segments[1]!,
          repo: segments[2]!,
          name: String(body.name),
          head_sha: String(body.head_sha),
          status: 'queued',
          conclusion: null,
          history: [],
        };
        this.checkRuns.set(run.id, run);
      } else {
        const found = this.checkRuns.get(Number(rest[1]));
        if (!found || found.repo.toLowerCase() !== segments[2]!.toLowerCase()) return this.notFound(res, 'checks/runs#update-a-check-run');
        run = found;
      }
      run.history.push({ method: method as 'POST' | 'PATCH', body });
      if (typeof body.name === 'string') run.name = body.name;
      if (typeof body.status === 'string') run.status = body.status;
      if (typeof body.conclusion === 'string') {
        run.conclusion = body.conclusion;
        run.status = 'completed';
      }
      if (typeof body.details_url === 'string') run.details_url = body.details_url;
      if (typeof body.external_id === 'string') run.external_id = body.external_id;
      if (body.output && typeof body.output === 'object') run.output = body.output as RecordedCheckRun['output'];
      return this.json(res, method === 'POST' ? 201 : 200, this.checkRunBody(run));
    }

    return this.notFound(res, '');
  }

  private takeFailure(line: string): InjectedFailure | undefined {
    const index = this.failures.findIndex((f) => f.left > 0 && (!f.match || f.match.test(line)));
    if (index < 0) return undefined;
    const failure = this.failures[index]!;
    failure.left--;
    if (failure.left === 0) this.failures.splice(index, 1);
    return failure.kind;
  }

  private validateCheckRun(body: Record<string, unknown>, create: boolean): string | undefined {
    if (create && (typeof body.name !== 'string' || body.name === '')) return 'name';
    if (create && (typeof body.head_sha !== 'string' || body.head_sha === '')) return 'head_sha';
    const output = body.output as { title?: unknown; summary?: unknown; text?: unknown } | undefined;
    if (output) {
      if (typeof output.title !== 'string' || typeof output.summary !== 'string') return 'output';
      if ([...output.summary].length > 65_535) return 'output.summary';
      if (typeof output.text === 'string' && [...output.text].length > 65_535) return 'output.text';
    }
    if (body.status === 'completed' && typeof body.conclusion !== 'string') return 'conclusion';
    return undefined;
  }

  private checkRunBody(run: RecordedCheckRun): Record<string, unknown> {
    return {
      id: run.id,
      node_id: 'CR_kwDOAAAAAA',
      head_sha: run.head_sha,
      external_id: run.external_id ?? '',
      url: `${this.url}/repos/${run.owner}/${run.repo}/check-runs/${run.id}`,
      html_url: `https://github.com/${run.owner}/${run.repo}/runs/${run.id}`,
      details_url: run.details_url ?? null,
      status: run.status,
      conclusion: run.conclusion,
      started_at: new Date(this.now()).toISOString(),
      completed_at: run.status === 'completed' ? new Date(this.now()).toISOString() : null,
      output: {
        title: run.output?.title ?? null,
        summary: run.output?.summary ?? null,
        text: run.output?.text ?? null,
        annotations_count: 0,
        annotations_url: `${this.url}/repos/${run.owner}/${run.repo}/check-runs/${run.id}/annotations`,
      },
      name: run.name,
      check_suite: { id: 5 },
      app: { id: this.options.appId, slug: 'kici', name: 'kici' },
      pull_requests: [],
    };
  }

  /** The get-repository fixture's recorded answer, renamed to `repo`. */
  private repositoryBody(repo: string): Record<string, unknown> {
    const recorded = (REPOSITORY_FIXTURE as { response: Record<string, unknown> }[])[0]!.response;
    const [owner, name] = repo.split('/') as [string, string];
    const text = JSON.stringify(recorded)
      .replaceAll('https://api.github.com', this.url)
      .replaceAll('octokit-fixture-org/hello-world', repo)
      .replaceAll('"octokit-fixture-org"', JSON.stringify(owner));
    const body = JSON.parse(text) as Record<string, unknown>;
    const defaultBranch = this.defaultBranches.get(repo.toLowerCase());
    const cloneUrl = this.cloneUrls.get(repo.toLowerCase());
    return { ...body, id: this.repoId(repo), name, ...(defaultBranch ? { default_branch: defaultBranch } : {}), ...(cloneUrl ? { clone_url: cloneUrl } : {}) };
  }

  private installationBody(installation: Installation): Record<string, unknown> {
    return {
      id: installation.id,
      account: { login: installation.account, id: 1000, type: 'Organization' },
      repository_selection: 'selected',
      access_tokens_url: `${this.url}/app/installations/${installation.id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url: `https://github.com/organizations/${installation.account}/settings/installations/${installation.id}`,
      app_id: this.options.appId,
      app_slug: 'kici',
      target_id: 1000,
      target_type: 'Organization',
      permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read' },
      events: ['push', 'pull_request'],
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
      single_file_name: null,
    };
  }

  /** JWT checks as GitHub makes them; answers 401 and returns false on a refusal. */
  private checkJwt(credential: string | undefined, res: ServerResponse): boolean {
    const refuse = (message: string) => {
      this.json(res, 401, { message, documentation_url: DOCS });
      return false;
    };
    if (!credential) {
      return refuse('You must authenticate with a JSON Web Token (JWT) to access this endpoint');
    }
    const parts = credential.split('.');
    if (parts.length !== 3) return refuse('A JSON web token could not be decoded');
    let header: { alg?: string };
    let claims: { iat?: unknown; exp?: unknown; iss?: unknown };
    try {
      header = JSON.parse(base64url(parts[0]!).toString('utf8'));
      claims = JSON.parse(base64url(parts[1]!).toString('utf8'));
    } catch {
      return refuse('A JSON web token could not be decoded');
    }
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (header.alg !== 'RS256' || !verify('RSA-SHA256', signed, this.publicKey, base64url(parts[2]!))) {
      return refuse('A JSON web token could not be decoded');
    }
    if (String(claims.iss) !== String(this.options.appId)) return refuse('A JSON web token could not be decoded');
    const now = Math.floor(this.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      return refuse("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    }
    if (claims.exp > now + 600) return refuse("'Expiration time' claim ('exp') is too far in the future");
    if (typeof claims.iat !== 'number' || claims.iat > now + 60) {
      return refuse("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    }
    return true;
  }

  private checkToken(credential: string | undefined, res: ServerResponse): Installation | undefined {
    const issued = credential ? this.tokens.get(credential) : undefined;
    const installation = issued ? this.installations.get(issued.installationId) : undefined;
    if (!issued || issued.expiresAt <= this.now() || !installation) {
      this.json(res, 401, { message: 'Bad credentials', documentation_url: DOCS });
      return undefined;
    }
    return installation;
  }

  private notFound(res: ServerResponse, doc: string): void {
    this.json(res, 404, { message: 'Not Found', documentation_url: doc ? `https://docs.github.com/rest/${doc}` : DOCS });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': `0000:${randomBytes(4).toString('hex')}`,
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
