/**
 * The other side of `npm run bench -- github`, in a process of its own (forked by github.ts): the
 * outside world of a GitHub App. It holds GitHub, that is the API stand-in (test/support/
 * github-standin.ts: installation tokens, the contents API serving `.kici/kici.lock.json` at each
 * commit the bench names), and it sends the App's webhooks: signed `push` deliveries to
 * `POST /webhook/:orgId/github`, as GitHub sends them. The orchestrator's process then holds the
 * orchestrator alone, so its CPU time is the orchestrator's.
 *
 * Driven over the IPC channel: each request `{ id, op, … }` gets one reply `{ id, ok, result | error }`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { signBody } from '../src/webhooks/index.js';
import { GitHubStandIn } from '../test/support/github-standin.js';

export interface GithubApp {
  appId: number;
  installationId: number;
  /** `owner/name`. */
  repo: string;
}

export interface Webhooks {
  /** `…/webhook/:orgId/github`. */
  url: string;
  secret: string;
  app: GithubApp;
}

export type GithubLoadRequest =
  /** Start the stand-in with the App installed on `repo`; answers its URL and the App's private key. */
  | { op: 'github'; app: GithubApp }
  /** The lock file at each of these commits of `repo`. */
  | { op: 'files'; repo: string; shas: string[]; lockfile: string }
  /** One push per sha, `inFlight` at a time; only the replies are waited for. */
  | { op: 'pushes'; hooks: Webhooks; shas: string[]; inFlight: number }
  /** The requests the stand-in has served so far, by kind. */
  | { op: 'requests' }
  | { op: 'close' };

export interface GithubStarted {
  url: string;
  privateKey: string;
}

/** What GitHub (the stand-in) has been asked so far. */
export interface GithubRequests {
  /** Contents API reads: each a lock-file cache miss. */
  contents: number;
  /** Check-run creates and updates. */
  checkRuns: number;
  /** Installation tokens minted. */
  tokens: number;
  total: number;
}

export interface PushesResult {
  /** POST → 202, ms, in the order sent. */
  replyMs: number[];
  /** First POST → last 202, ms. */
  acceptedMs: number;
  /** `X-GitHub-Delivery` of each push, in the order of `shas`. */
  deliveryIds: string[];
}

let github: GitHubStandIn | undefined;
let deliveries = 0;
const tag = randomBytes(4).toString('hex');

/** A GitHub delivery id (a UUID). */
function deliveryId(): string {
  const n = (++deliveries).toString(16).padStart(12, '0');
  return `${tag}-0000-4000-8000-${n}`;
}

/**
 * A push as GitHub sends it, about 5 KB: the repository, pusher, sender, installation, three
 * commits and the head commit (kici reads `ref`, `before`, `after`, the repository's name and
 * default branch, the installation, and the commits' changed files).
 */
function pushBody(app: GithubApp, sha: string): string {
  const [owner, name] = app.repo.split('/') as [string, string];
  const html = `https://github.com/${app.repo}`;
  const user = { name: 'Octo Cat', email: 'octocat@users.noreply.github.com', username: 'octocat' };
  const commit = (id: string, i: number) => ({
    id,
    tree_id: randomBytes(20).toString('hex'),
    distinct: true,
    message: `Change ${i}: adjust the build (${tag})`,
    timestamp: new Date().toISOString(),
    url: `${html}/commit/${id}`,
    author: user,
    committer: user,
    added: i === 0 ? ['docs/new.md'] : [],
    removed: [],
    modified: [`src/module-${i}.ts`, 'package.json'],
  });
  const commits = [randomBytes(20).toString('hex'), randomBytes(20).toString('hex'), sha].map(commit);
  const account = {
    login: owner,
    id: 9919,
    node_id: 'MDEyOk9yZ2FuaXphdGlvbjk5MTk=',
    avatar_url: 'https://avatars.githubusercontent.com/u/9919?v=4',
    url: `https://api.github.com/users/${owner}`,
    html_url: `https://github.com/${owner}`,
    type: 'Organization',
    site_admin: false,
  };
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: randomBytes(20).toString('hex'),
    after: sha,
    repository: {
      id: 1296269,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
      name,
      full_name: app.repo,
      private: true,
      owner: account,
      html_url: html,
      description: 'the bench repository',
      fork: false,
      url: html,
      clone_url: `${html}.git`,
      git_url: `git://github.com/${app.repo}.git`,
      ssh_url: `git@github.com:${app.repo}.git`,
      created_at: 1_700_000_000,
      updated_at: '2026-01-01T00:00:00Z',
      pushed_at: Math.floor(Date.now() / 1000),
      size: 4242,
      stargazers_count: 12,
      language: 'TypeScript',
      default_branch: 'main',
      master_branch: 'main',
      organization: owner,
      visibility: 'private',
    },
    pusher: { name: user.username, email: user.email },
    organization: { login: owner, id: 9919, node_id: account.node_id, url: `https://api.github.com/orgs/${owner}` },
    sender: { ...account, login: 'octocat', id: 583231, type: 'User' },
    installation: { id: app.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=' },
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${html}/compare/${commits[0]!.id.slice(0, 12)}...${sha.slice(0, 12)}`,
    commits,
    head_commit: commits[2],
  });
}

async function push(hooks: Webhooks, sha: string, id: string): Promise<number> {
  const body = pushBody(hooks.app, sha);
  const started = performance.now();
  const res = await fetch(hooks.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-github-hook-id': '1',
      'x-github-hook-installation-target-id': String(hooks.app.appId),
      'x-github-hook-installation-target-type': 'integration',
      'x-hub-signature-256': signBody(hooks.secret, body),
    },
    body,
  });
  const replied = performance.now() - started;
  const text = await res.text();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${text}`);
  return replied;
}

async function pushes(hooks: Webhooks, shas: string[], inFlight: number): Promise<PushesResult> {
  const replyMs = new Array<number>(shas.length);
  const deliveryIds = shas.map(() => deliveryId());
  let next = 0;
  const started = performance.now();
  const sender = async () => {
    for (let i = next++; i < shas.length; i = next++) replyMs[i] = await push(hooks, shas[i]!, deliveryIds[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, shas.length) }, sender));
  return { replyMs, acceptedMs: performance.now() - started, deliveryIds };
}

async function handle(request: GithubLoadRequest): Promise<unknown> {
  switch (request.op) {
    case 'github': {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      github = await new GitHubStandIn({ appId: request.app.appId, publicKey }).start();
      github.install(request.app.installationId, [request.app.repo]);
      return { url: github.url, privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() } satisfies GithubStarted;
    }
    case 'files':
      if (!github) throw new Error('no stand-in yet');
      for (const sha of request.shas) github.setFile(request.repo, sha, '.kici/kici.lock.json', request.lockfile);
      return undefined;
    case 'pushes':
      return pushes(request.hooks, request.shas, request.inFlight);
    case 'requests': {
      const requests = github?.requests ?? [];
      return {
        contents: requests.filter((r) => r.method === 'GET' && /\/contents\//.test(r.path)).length,
        checkRuns: requests.filter((r) => r.method !== 'GET' && /\/check-runs(\/|$)/.test(r.path)).length,
        tokens: requests.filter((r) => r.method === 'POST' && /\/access_tokens$/.test(r.path)).length,
        total: requests.length,
      } satisfies GithubRequests;
    }
    case 'close':
      await github?.stop();
      github = undefined;
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (message: { id: number } & GithubLoadRequest) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: Error) => process.send?.({ id: message.id, ok: false, error: error.stack ?? error.message }),
  );
});
// The parent went away: nothing left to drive this process.
process.on('disconnect', () => process.exit(0));
