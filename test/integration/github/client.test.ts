/**
 * The github room's client against the GitHub API stand-in (test/support/github-standin.ts) on
 * loopback: real HTTP, the app JWT checked with the app's public key, tokens issued and checked by
 * the stand-in. Token refresh is driven by a ManualClock (no sleeps); only the timeout tests wait,
 * for a 300 ms request timeout.
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { GitHubApp, GitHubError, renderCheckRunSummary, type GitHubAppOptions } from '../../../src/github/index.js';
import { GitHubStandIn } from '../../support/github-standin.js';

const APP_ID = 4242;
const INSTALLATION = 77;
const OTHER_INSTALLATION = 78;
const REPO = 'octokit-fixture-org/hello-world';
const SHA = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);
const LOCK = '{"version":1,"workflows":[]}';

// GitHub hands out PKCS#1 PEM keys ("BEGIN RSA PRIVATE KEY").
function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const appKeys = keyPair();
const strangerKeys = keyPair();
let standin: GitHubStandIn;
const clients: GitHubApp[] = [];

function client(options: Partial<GitHubAppOptions> = {}): GitHubApp {
  const app = new GitHubApp({
    appId: APP_ID,
    privateKey: appKeys.privateKey,
    baseUrl: standin.url,
    timeoutMs: 5_000,
    ...options,
  });
  clients.push(app);
  return app;
}

async function failure(promise: Promise<unknown>): Promise<GitHubError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GitHubError);
    return error as GitHubError;
  }
  throw new Error('expected a failure');
}

/** No issued token, no JWT, no private-key text in a message. */
function expectNoSecrets(message: string): void {
  for (const token of standin.issuedTokens) expect(message).not.toContain(token);
  expect(message).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  expect(message).not.toContain('PRIVATE KEY');
  expect(message).not.toContain(appKeys.privateKey.split('\n')[1]!);
  expect(message).not.toMatch(/ghs_/);
}

beforeAll(async () => {
  standin = await new GitHubStandIn({ appId: APP_ID, publicKey: appKeys.publicKey }).start();
  standin.install(INSTALLATION, [REPO, 'octokit-fixture-org/other']);
  standin.install(OTHER_INSTALLATION, ['someone-else/theirs']);
  standin.setFile(REPO, SHA, '.kici/kici.lock.json', LOCK);
});

afterEach(() => {
  standin.clearFailures();
  standin.tokenTtlMs = 3_600_000;
});

afterAll(async () => {
  await standin?.stop();
});

describe('app auth', () => {
  it('finds the installation of a repository with the app JWT, once', async () => {
    const app = client();
    const before = standin.count('GET', /\/installation$/);
    expect(await app.installationFor('octokit-fixture-org', 'Hello-World')).toBe(INSTALLATION);
    expect(await app.installationFor('octokit-fixture-org', 'hello-world')).toBe(INSTALLATION);
    expect(standin.count('GET', /\/installation$/) - before).toBe(1);
    const lookup = standin.requests.filter((r) => r.path.endsWith('/installation')).at(-1)!;
    expect(lookup.auth).toBe('jwt');
  });

  it('caches the installation token until 5 minutes before expires_at, by the injected clock', async () => {
    const clock = new ManualClock(Date.now());
    const app = client({ clock });
    const first = await app.installationToken(INSTALLATION);
    expect(first.token).toMatch(/^ghs_/);
    // GitHub's expires_at has whole seconds: within a second of an hour from now.
    expect(Math.abs(first.expiresAt - (clock.now() + 3_600_000))).toBeLessThan(1_500);
    expect(await app.installationToken(INSTALLATION)).toBe(first);
    clock.advance(first.expiresAt - clock.now() - 5 * 60_000 - 1);
    expect(await app.installationToken(INSTALLATION)).toBe(first);
    clock.advance(1);
    const second = await app.installationToken(INSTALLATION);
    expect(second.token).not.toBe(first.token);
    expect(app.tokenMints()).toBe(2);
  });

  it('mints once for concurrent callers', async () => {
    const app = client();
    const before = standin.count('POST', /access_tokens$/);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => app.installationToken(INSTALLATION)));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect(standin.count('POST', /access_tokens$/) - before).toBe(1);
  });

  it('replaces short-lived tokens at once (they are inside the refresh margin)', async () => {
    standin.tokenTtlMs = 2 * 60_000;
    const app = client();
    const a = await app.installationToken(INSTALLATION);
    const b = await app.installationToken(INSTALLATION);
    expect(b.token).not.toBe(a.token);
  });

  it('a JWT signed with the wrong key is refused, and the error says what to check', async () => {
    const app = client({ privateKey: strangerKeys.privateKey });
    const error = await failure(app.installationToken(INSTALLATION));
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(401);
    expect(error.message).toContain('A JSON web token could not be decoded');
    expect(error.message).toContain(`app ${APP_ID}`);
    expect(error.message).toContain('check the app id and the private key');
    expectNoSecrets(error.message);
    expect(error.message).not.toContain(strangerKeys.privateKey.split('\n')[1]!);
  });

  it('a JWT naming another app id is refused', async () => {
    const app = client({ appId: 999 });
    const error = await failure(app.installationFor('octokit-fixture-org', 'hello-world'));
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('app 999');
  });

  it('an unreadable private key is an auth error that does not echo the key', async () => {
    const app = client({ privateKey: '-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all-but-secret\n-----END RSA PRIVATE KEY-----' });
    const error = await failure(app.installationToken(INSTALLATION));
    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain('not-a-key-at-all-but-secret');
  });

  it('a repository the app is not installed on is not_found', async () => {
    const error = await failure(client().installationFor('nobody', 'nothing'));
    expect(error.kind).toBe('not_found');
    expect(error.message).toContain(`app ${APP_ID} is not installed on nobody/nothing`);
  });

  it('gives clone credentials for a header: x-access-token and the installation token', async () => {
    const app = client();
    const credentials = await app.cloneCredentials('octokit-fixture-org', 'hello-world');
    expect(credentials.username).toBe('x-access-token');
    expect(credentials.password).toBe((await app.installationToken(INSTALLATION)).token);
    expect(credentials.expiresAt).toBeGreaterThan(Date.now());
  });

  it('a revoked token is dropped and the call made once more with a fresh one', async () => {
    const app = client();
    await app.lockfile('octokit-fixture-org', 'hello-world', SHA);
    standin.revokeTokens();
    standin.setFile(REPO, SHA2, '.kici/kici.lock.json', LOCK);
    const mints = app.tokenMints();
    expect((await app.lockfile('octokit-fixture-org', 'hello-world', SHA2)).kind).toBe('found');
    expect(app.tokenMints()).toBe(mints + 1);
  });
});

describe('the stand-in checks JWT claims', () => {
  function jwt(claims: Record<string, unknown>, key = appKeys.privateKey): string {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const data = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
    return `${data}.${createSign('RSA-SHA256').update(data).sign(key).toString('base64url')}`;
  }
  const call = (token: string) =>
    fetch(`${standin.url}/app/installations/${INSTALLATION}/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json' },
    });
  const now = () => Math.floor(Date.now() / 1000);

  it('accepts iss = app id, exp at most 10 minutes ahead', async () => {
    const res = await call(jwt({ iat: now() - 60, exp: now() + 540, iss: String(APP_ID) }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; expires_at: string };
    expect(body.token).toMatch(/^ghs_/);
    expect(body.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it.each([
    ['expired', { iat: now() - 700, exp: now() - 10, iss: APP_ID }, "'Expiration time' claim ('exp') must be a numeric value"],
    ['exp too far ahead', { iat: now(), exp: now() + 900, iss: APP_ID }, "'Expiration time' claim ('exp') is too far in the future"],
    ['iat in the future', { iat: now() + 300, exp: now() + 500, iss: APP_ID }, "'Issued at' claim ('iat')"],
    ['another issuer', { iat: now(), exp: now() + 500, iss: 1 }, 'A JSON web token could not be decoded'],
  ])('refuses a JWT: %s', async (_name, claims, message) => {
    const res = await call(jwt(claims));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toContain(message);
  });

  it('refuses a JWT signed with another key, and an unknown token', async () => {
    const res = await call(jwt({ iat: now(), exp: now() + 500, iss: APP_ID }, strangerKeys.privateKey));
    expect(res.status).toBe(401);
    const contents = await fetch(`${standin.url}/repos/${REPO}/contents/x?ref=${SHA}`, { headers: { authorization: 'token ghs_madeup' } });
    expect(contents.status).toBe(401);
    expect(await contents.json()).toMatchObject({ message: 'Bad credentials' });
  });
});

describe('the lock file at a commit', () => {
  it('reads it at exactly the sha through the contents API and caches it by repo and sha', async () => {
    const app = client();
    const before = standin.count('GET', /\/contents\//);
    const found = await app.lockfile('octokit-fixture-org', 'hello-world', SHA);
    expect(found).toEqual({ kind: 'found', text: LOCK, blob: expect.stringMatching(/^[0-9a-f]{40}$/), cached: false });
    const request = standin.requests.filter((r) => r.path.includes('/contents/')).at(-1)!;
    expect(request.path).toBe(`/repos/${REPO}/contents/.kici/kici.lock.json`);
    expect(request.query).toBe(`?ref=${SHA}`);
    expect(request.auth).toBe('token');
    expect(await app.lockfile('octokit-fixture-org', 'Hello-World', SHA)).toEqual({ ...found, cached: true });
    expect(app.lockfileStats()).toEqual({ hits: 1, misses: 1 });
    expect(standin.count('GET', /\/contents\//) - before).toBe(1);
  });

  it('shares one fetch between concurrent readers of the same commit', async () => {
    const app = client();
    const before = standin.count('GET', /\/contents\//);
    await Promise.all([1, 2, 3].map(() => app.lockfile('octokit-fixture-org', 'hello-world', SHA)));
    expect(standin.count('GET', /\/contents\//) - before).toBe(1);
    expect(app.lockfileStats()).toEqual({ hits: 2, misses: 1 });
  });

  it('evicts the least recently used commit when the cache is full', async () => {
    const app = client({ lockfileCacheSize: 1 });
    standin.setFile(REPO, SHA2, '.kici/kici.lock.json', LOCK);
    await app.lockfile('octokit-fixture-org', 'hello-world', SHA);
    await app.lockfile('octokit-fixture-org', 'hello-world', SHA2);
    await app.lockfile('octokit-fixture-org', 'hello-world', SHA);
    expect(app.lockfileStats()).toEqual({ hits: 0, misses: 3 });
  });

  it('a 404 is missing (and a commit without one stays missing)', async () => {
    const app = client();
    const sha = 'c'.repeat(40);
    expect(await app.lockfile('octokit-fixture-org', 'hello-world', sha)).toEqual({ kind: 'missing', cached: false });
    expect(await app.lockfile('octokit-fixture-org', 'hello-world', sha)).toEqual({ kind: 'missing', cached: true });
    expect(app.lockfileStats()).toEqual({ hits: 1, misses: 1 });
  });

  it('reads a file over the contents API\'s 1 MB limit again with the raw media type', async () => {
    const big = JSON.stringify({ version: 1, padding: 'p'.repeat(2_000) });
    const sha = 'd'.repeat(40);
    standin.setFile(REPO, sha, '.kici/kici.lock.json', big);
    standin.largeFileBytes = 1_000;
    try {
      const found = await client().lockfile('octokit-fixture-org', 'hello-world', sha);
      expect(found).toMatchObject({ kind: 'found', text: big });
      const raw = standin.requests.filter((r) => r.path.includes('/contents/')).at(-1)!;
      expect(raw.accept).toContain('application/vnd.github.raw');
    } finally {
      standin.largeFileBytes = 1024 * 1024;
    }
  });

  it('refuses anything but a full commit id', async () => {
    const error = await failure(client().lockfile('octokit-fixture-org', 'hello-world', 'main'));
    expect(error.kind).toBe('refused');
  });

  it.each([
    ['server_error', 500, /500 Server Error/],
    ['bad_gateway', 502, /502/],
    ['rate_limit', 403, /rate limited \(403 API rate limit exceeded/],
  ] as const)('a %s is retryable, with the status in the message and no token', async (kind, status, message) => {
    const app = client();
    await app.installationToken(INSTALLATION);
    standin.failNext(kind, { match: /contents/ });
    const error = await failure(app.lockfile('octokit-fixture-org', 'hello-world', SHA));
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('/contents/.kici/kici.lock.json');
    expectNoSecrets(error.message);
    if (kind === 'rate_limit') expect(error.retryAfterMs).toBeGreaterThan(0);
    // Nothing failed is cached: the next read succeeds.
    expect((await app.lockfile('octokit-fixture-org', 'hello-world', SHA)).kind).toBe('found');
  });

  it('a timeout is retryable and says so', async () => {
    const app = client({ timeoutMs: 300 });
    await app.installationToken(INSTALLATION);
    standin.failNext('hang', { match: /contents/ });
    const error = await failure(app.lockfile('octokit-fixture-org', 'hello-world', SHA));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('timed out');
    expect(error.message).toContain('300 ms');
    expectNoSecrets(error.message);
  });

  it('a token exchange that hangs or fails is retryable too', async () => {
    standin.failNext('hang', { match: /access_tokens/ });
    const hung = await failure(client({ timeoutMs: 300 }).lockfile('octokit-fixture-org', 'hello-world', SHA2));
    expect(hung.retryable).toBe(true);
    expect(hung.message).toContain('access_tokens');
    standin.failNext('bad_gateway', { match: /access_tokens/ });
    const failed = await failure(client().lockfile('octokit-fixture-org', 'hello-world', SHA2));
    expect(failed.retryable).toBe(true);
    expect(failed.status).toBe(502);
    expectNoSecrets(hung.message + failed.message);
  });

  it('a connection refused is retryable', async () => {
    const app = new GitHubApp({ appId: APP_ID, privateKey: appKeys.privateKey, baseUrl: 'http://127.0.0.1:9', timeoutMs: 2_000 });
    const error = await failure(app.lockfile('o', 'r', SHA, { installationId: INSTALLATION }));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('no answer');
  });

  it('the installation id from a webhook skips the lookup', async () => {
    const app = client();
    const before = standin.count('GET', /\/installation$/);
    await app.lockfile('octokit-fixture-org', 'hello-world', SHA, { installationId: INSTALLATION });
    expect(standin.count('GET', /\/installation$/)).toBe(before);
  });

  it('another installation\'s token does not open this repository: not_found, not "missing"', async () => {
    const error = await failure(client().lockfile('octokit-fixture-org', 'hello-world', SHA2, { installationId: OTHER_INSTALLATION }));
    expect(error.kind).toBe('not_found');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('octokit-fixture-org/hello-world is not visible to the installation');
    expectNoSecrets(error.message);
  });
});

describe('changed files of a pull request', () => {
  it('follows Link pagination to the end', async () => {
    const files = Array.from({ length: 250 }, (_, i) => `src/file-${i}.ts`);
    standin.setPullFiles(REPO, 12, files);
    const before = standin.count('GET', /\/files$/);
    const changed = await client().changedFiles('octokit-fixture-org', 'hello-world', 12);
    expect(changed.files).toEqual(files);
    expect(changed.count).toBe(250);
    expect(changed.capped).toBe(false);
    expect(standin.count('GET', /\/files$/) - before).toBe(3);
    // Later pages come through GitHub's /repositories/{id}/… Link targets.
    expect(standin.requests.filter((r) => r.path.endsWith('/files')).at(-1)!.path).toMatch(/^\/repositories\/\d+\/pulls\/12\/files$/);
  });

  it('lists both names of a renamed file', async () => {
    standin.setPullFiles(REPO, 13, [{ filename: 'new/name.ts', previous_filename: 'old/name.ts' }, 'README.md']);
    const changed = await client().changedFiles('octokit-fixture-org', 'hello-world', 13);
    expect(changed.files).toEqual(['old/name.ts', 'new/name.ts', 'README.md']);
    expect(changed.count).toBe(2);
  });

  it('says when GitHub\'s 3000-file cap was reached', async () => {
    standin.setPullFiles(REPO, 14, Array.from({ length: 3100 }, (_, i) => `f/${i}`));
    const changed = await client().changedFiles('octokit-fixture-org', 'hello-world', 14);
    expect(changed.count).toBe(3000);
    expect(changed.capped).toBe(true);
  });

  it('never follows a Link to another host (the token stays with the API)', async () => {
    standin.setPullFiles(REPO, 16, Array.from({ length: 150 }, (_, i) => `h/${i}`));
    standin.pageLinkBase = 'http://127.0.0.2:9';
    try {
      const error = await failure(client().changedFiles('octokit-fixture-org', 'hello-world', 16));
      expect(error.kind).toBe('refused');
      expect(error.message).toContain('another host');
    } finally {
      standin.pageLinkBase = undefined;
    }
  });

  it('an error on a later page is retryable and names the page', async () => {
    standin.setPullFiles(REPO, 15, Array.from({ length: 150 }, (_, i) => `g/${i}`));
    standin.failNext('server_error', { match: /^GET \/repositories\// });
    const error = await failure(client().changedFiles('octokit-fixture-org', 'hello-world', 15));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('page=2');
  });
});

describe('check runs', () => {
  it('creates one queued, moves it to in_progress, completes it with a conclusion and summary', async () => {
    const app = client();
    const created = await app.createCheckRun('octokit-fixture-org', 'hello-world', {
      name: 'kici/build',
      headSha: SHA,
      status: 'queued',
      detailsUrl: 'https://kici.example/runs/oal_123',
      externalId: 'run-1',
    });
    expect(created.id).toBeGreaterThan(0);
    expect(created.status).toBe('queued');
    expect(created.htmlUrl).toContain(`/runs/${created.id}`);
    await app.updateCheckRun('octokit-fixture-org', 'hello-world', created.id, {
      status: 'in_progress',
      startedAt: new Date().toISOString(),
      output: { title: 'Running', summary: '1 of 3 steps' },
    });
    const done = await app.updateCheckRun('octokit-fixture-org', 'hello-world', created.id, {
      conclusion: 'failure',
      completedAt: new Date().toISOString(),
      output: { title: 'Failed', summary: renderCheckRunSummary({ steps: [{ name: 'test', status: 'failure', logTail: ['boom'] }] }).text },
    });
    expect(done).toMatchObject({ id: created.id, status: 'completed', conclusion: 'failure' });
    const recorded = standin.checkRuns.get(created.id)!;
    expect(recorded.history.map((h) => h.method)).toEqual(['POST', 'PATCH', 'PATCH']);
    expect(recorded.history[0]!.body).toMatchObject({
      name: 'kici/build',
      head_sha: SHA,
      status: 'queued',
      details_url: 'https://kici.example/runs/oal_123',
      external_id: 'run-1',
    });
    expect(recorded.history[1]!.body).toMatchObject({ status: 'in_progress', output: { title: 'Running' } });
    expect(recorded.output?.summary).toContain('boom');
    expect(recorded.status).toBe('completed');
  });

  it('cuts an oversized summary to GitHub\'s cap before sending it', async () => {
    const app = client();
    const created = await app.createCheckRun('octokit-fixture-org', 'hello-world', {
      name: 'kici/huge',
      headSha: SHA,
      conclusion: 'success',
      output: { title: 'Done', summary: 'x'.repeat(70_000), text: 'y'.repeat(70_000) },
    });
    const sent = standin.checkRuns.get(created.id)!.output!;
    expect(Buffer.byteLength(sent.summary!)).toBeLessThanOrEqual(65_535);
    expect(Buffer.byteLength(sent.text!)).toBeLessThanOrEqual(65_535);
    expect(sent.summary).toContain("summary cut to fit GitHub's limit");
  });

  it('refuses completed without a conclusion before calling GitHub', async () => {
    const app = client();
    const before = standin.count('PATCH', /check-runs/);
    const error = await failure(app.updateCheckRun('octokit-fixture-org', 'hello-world', 1, { status: 'completed' }));
    expect(error.kind).toBe('refused');
    expect(standin.count('PATCH', /check-runs/)).toBe(before);
  });

  it('a check run GitHub does not know is not_found; a 5xx is retryable', async () => {
    const app = client();
    const missing = await failure(app.updateCheckRun('octokit-fixture-org', 'hello-world', 123, { status: 'in_progress' }));
    expect(missing.kind).toBe('not_found');
    standin.failNext('server_error', { match: /check-runs/ });
    const flaky = await failure(app.createCheckRun('octokit-fixture-org', 'hello-world', { name: 'kici/x', headSha: SHA }));
    expect(flaky.retryable).toBe(true);
    expect(flaky.message).toContain('POST /repos/octokit-fixture-org/hello-world/check-runs');
    expectNoSecrets(missing.message + flaky.message);
  });

  it('finds the check runs of a name on a commit, with the external id they were created with', async () => {
    const app = client();
    const sha = 'c'.repeat(40);
    const created = await app.createCheckRun('octokit-fixture-org', 'hello-world', { name: 'kici/find-me', headSha: sha, externalId: 'run-1' });
    await app.createCheckRun('octokit-fixture-org', 'hello-world', { name: 'kici/other', headSha: sha, externalId: 'run-2' });
    const found = await app.findCheckRuns('octokit-fixture-org', 'hello-world', sha, 'kici/find-me');
    expect(found.map((r) => [r.id, r.externalId])).toEqual([[created.id, 'run-1']]);
    expect(await app.findCheckRuns('octokit-fixture-org', 'hello-world', SHA2, 'kici/find-me')).toEqual([]);
  });
});

describe('check runs on a commit, many of one name', () => {
  it('follows the pages past 100 (a commit rerun many times)', async () => {
    const app = client();
    const sha = '9'.repeat(40);
    for (let i = 0; i < 130; i++) await app.createCheckRun('octokit-fixture-org', 'hello-world', { name: 'kici/many', headSha: sha, externalId: `run-${i}` });
    const found = await app.findCheckRuns('octokit-fixture-org', 'hello-world', sha, 'kici/many');
    expect(found).toHaveLength(130);
    expect(found.at(-1)!.externalId).toBe('run-0');
    expect(standin.requests.filter((r) => r.path.endsWith(`/commits/${sha}/check-runs`))).toHaveLength(2);
  });
});

describe('the commit a ref names', () => {
  it('reads the default branch from the repository when no ref is named, then its commit', async () => {
    standin.setBranch(REPO, 'trunk', SHA2, { default: true });
    expect(await client().commitAt('octokit-fixture-org', 'hello-world')).toEqual({ ref: 'refs/heads/trunk', sha: SHA2 });
  });

  it('reads a named branch or tag without asking for the repository', async () => {
    standin.setBranch(REPO, 'release/1', SHA, {});
    standin.setTag(REPO, 'v1.0.0', SHA2);
    const app = client();
    await app.commitAt('octokit-fixture-org', 'hello-world', 'refs/heads/release/1');
    const before = standin.count('GET', /^\/repos\/octokit-fixture-org\/hello-world$/);
    expect(await app.commitAt('octokit-fixture-org', 'hello-world', 'refs/heads/release/1')).toEqual({ ref: 'refs/heads/release/1', sha: SHA });
    expect(await app.commitAt('octokit-fixture-org', 'hello-world', 'refs/tags/v1.0.0')).toEqual({ ref: 'refs/tags/v1.0.0', sha: SHA2 });
    expect(standin.count('GET', /^\/repos\/octokit-fixture-org\/hello-world$/)).toBe(before);
  });

  it('a ref GitHub does not know is refused with its answer; a 5xx is retryable', async () => {
    const app = client();
    standin.failNext('server_error', { match: /commits/ });
    const flaky = await failure(app.commitAt('octokit-fixture-org', 'hello-world', 'refs/heads/trunk'));
    expect(flaky.retryable).toBe(true);
    const unknown = await failure(app.commitAt('octokit-fixture-org', 'hello-world', 'refs/heads/gone'));
    expect(unknown.retryable).toBe(false);
    expect(unknown.message).toContain('No commit found');
    expectNoSecrets(flaky.message + unknown.message);
  });
});

describe("a user's role in a repository", () => {
  it('answers the role for the user id the webhook named, and nothing for another id under that login', async () => {
    standin.setPermission(REPO, 'maintainer', 501, 'maintain');
    standin.setPermission(REPO, 'renamed', 502, 'write');
    const app = client();
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'maintainer', id: 501 })).toBe('maintain');
    // The login now belongs to someone else (id 502): the webhook's user gets no role from it.
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'renamed', id: 999 })).toBe('none');
    // Not a user at all (404): no role.
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'ghost', id: 503 })).toBe('none');
  });

  it('keeps an answer 15 minutes by the clock, then asks again', async () => {
    const clock = new ManualClock(Date.now());
    standin.setPermission(REPO, 'cached', 601, 'read');
    const app = client({ clock });
    const asked = () => standin.count('GET', /collaborators\/cached\/permission/);
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'cached', id: 601 })).toBe('read');
    standin.setPermission(REPO, 'cached', 601, 'write');
    clock.advance(15 * 60_000 - 1);
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'cached', id: 601 })).toBe('read');
    expect(asked()).toBe(1);
    clock.advance(1);
    expect(await app.permission('octokit-fixture-org', 'hello-world', { login: 'cached', id: 601 })).toBe('write');
    expect(asked()).toBe(2);
  });

  it('a 5xx is retryable, not "no role"', async () => {
    standin.setPermission(REPO, 'flaky', 701, 'admin');
    standin.failNext('server_error', { match: /permission/ });
    const error = await failure(client().permission('octokit-fixture-org', 'hello-world', { login: 'flaky', id: 701 }));
    expect(error.retryable).toBe(true);
    expectNoSecrets(error.message);
  });
});
