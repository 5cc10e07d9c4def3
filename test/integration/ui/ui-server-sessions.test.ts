import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { CONTENT_SECURITY_POLICY } from '../../../src/ui/index.js';
import { OrchestratorRig } from '../server/orchestrator-rig.js';
import { setCookie, UiBrowser } from './ui-client.js';

/**
 * The web view's sign-in against a real orchestrator over real HTTP: the cookie and its attributes,
 * the failed-auth limit, a session's life (its token's revocation, its expiry on the orchestrator's
 * clock, sign-out), the admin API behind the cookie with viewer and csrf rules, and refusals of
 * requests from other origins. The clock is a ManualClock, so twelve hours pass when the test says.
 */
let rig: OrchestratorRig;
let clock: ManualClock;
const HOUR = 3_600_000;
const TRUSTED_PROXY = '127.0.0.3';

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  rig = await OrchestratorRig.start({ KICI_TRUSTED_PROXIES: TRUSTED_PROXY }, { clock });
});

afterAll(async () => {
  await rig?.close();
});

async function adminToken(name: string, role: 'admin' | 'viewer' = 'admin'): Promise<{ id: string; token: string }> {
  const created = await rig.api('POST', '/admin-tokens', { name, role });
  return { id: created.id as string, token: created.token as string };
}

async function signedIn(token = rig.adminToken): Promise<UiBrowser> {
  const browser = new UiBrowser(rig.url);
  expect((await browser.signIn(token)).status).toBe(200);
  return browser;
}

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie scoped to /ui, and never echoes the token', async () => {
    const browser = new UiBrowser(rig.url);
    const answer = await browser.signIn(rig.adminToken);
    expect(answer.status).toBe(200);
    const cookie = setCookie(answer)!;
    expect(cookie).toMatch(/^kici_session=[A-Za-z0-9_-]{43}; /);
    const attributes = cookie.split('; ').slice(1);
    expect(attributes).toEqual(expect.arrayContaining(['Path=/ui', 'HttpOnly', 'SameSite=Strict', `Max-Age=${12 * 3600}`]));
    expect(attributes).not.toContain('Secure'); // plain http on loopback, no trusted proxy
    const body = answer.json();
    expect(body).toEqual({ name: 'admin', role: 'admin', csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: new Date(clock.now() + 12 * HOUR).toISOString() });
    expect(answer.text + JSON.stringify(answer.headers)).not.toContain(rig.adminToken);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  });

  it('marks the cookie Secure when a trusted proxy says the browser came over https, and only then', async () => {
    const browser = new UiBrowser(rig.url);
    const https = { origin: browser.origin.replace(/^http:/, 'https:'), headers: { 'x-forwarded-proto': 'https' } };
    const viaProxy = await browser.signIn(rig.adminToken, { ...https, localAddress: TRUSTED_PROXY });
    expect(viaProxy.status).toBe(200);
    expect(setCookie(viaProxy)).toMatch(/; Secure$/);
    // Anyone else's X-Forwarded-Proto is not believed: the request is plain http, and an https Origin is another origin.
    const forged = await browser.signIn(rig.adminToken, { headers: { 'x-forwarded-proto': 'https' } });
    expect(setCookie(forged)).not.toContain('Secure');
    expect((await browser.signIn(rig.adminToken, https)).status).toBe(403);
  });

  it('refuses a wrong token with 401, and 429 once the address is past the failed-auth limit', async () => {
    const browser = new UiBrowser(rig.url);
    const from = '127.0.0.7';
    const first = await browser.signIn(`kadm_${'0'.repeat(64)}`, { localAddress: from });
    expect(first.status).toBe(401);
    expect(first.json()).toEqual({ error: { code: 'unauthorized', message: 'admin token is invalid or revoked' } });
    expect(setCookie(first)).toBeUndefined();
    let last = first;
    for (let i = 0; i < 10 && last.status === 401; i++) last = await browser.signIn('not-a-token', { localAddress: from });
    expect(last.status).toBe(429);
    expect((last.json().error as { code: string }).code).toBe('rate_limited');
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    // A valid token from the limited address still passes, as with the bearer-token API.
    expect((await browser.signIn(rig.adminToken, { localAddress: from })).status).toBe(200);
    clock.advance(61_000);
  });

  it('answers 400 to a body that is not a token, and never crashes', async () => {
    const browser = new UiBrowser(rig.url);
    expect((await browser.request('POST', '/ui/api/session', { body: {} })).status).toBe(400);
    expect((await browser.request('POST', '/ui/api/session', { raw: '{"token":' })).status).toBe(400);
    expect((await browser.request('POST', '/ui/api/session', { body: { token: 'x', extra: 1 } })).status).toBe(400);
    expect((await browser.request('POST', '/ui/api/session', { body: { token: 'x'.repeat(20_000) } })).status).toBe(413);
  });

  it('refuses a sign-in from another origin before looking at the token', async () => {
    const browser = new UiBrowser(rig.url);
    const answer = await browser.signIn(rig.adminToken, { origin: 'http://evil.example' });
    expect(answer.status).toBe(403);
    expect((answer.json().error as { code: string }).code).toBe('cross_origin');
    expect(setCookie(answer)).toBeUndefined();
  });

  it('keeps only the hash of the cookie\'s secret in the sessions table', async () => {
    const browser = await signedIn();
    const rows = await queryBuilderOf(rig.orch.store).selectFrom('ui_sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(browser.secret!);
    expect(rows.map((r) => r.secret_hash)).toContain(createHash('sha256').update(browser.secret!).digest('hex'));
  });
});

describe('a session', () => {
  it('is who the page is across requests, and 401 signed_out without the cookie', async () => {
    const browser = await signedIn();
    for (let i = 0; i < 2; i++) {
      const answer = await browser.request('GET', '/ui/api/session');
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ name: 'admin', role: 'admin', csrf: browser.csrf });
    }
    const anonymous = await browser.request('GET', '/ui/api/session', { cookie: false });
    expect(anonymous.status).toBe(401);
    expect((anonymous.json().error as { code: string }).code).toBe('signed_out');
  });

  it('dies with its admin token', async () => {
    const token = await adminToken(`ui-revoked-${randomUUID().slice(0, 8)}`);
    const browser = await signedIn(token.token);
    expect((await browser.request('GET', '/ui/api/v1/runs')).status).toBe(200);
    await rig.api('DELETE', `/admin-tokens/${token.id}`);
    expect((await browser.request('GET', '/ui/api/session')).status).toBe(401);
    expect((await browser.request('GET', '/ui/api/v1/runs')).status).toBe(401);
  });

  it('ends its open live feeds within seconds of its token\'s revocation', async () => {
    const token = await adminToken(`ui-feed-${randomUUID().slice(0, 8)}`);
    const browser = await signedIn(token.token);
    const feed = await browser.feed('/ui/api/live/runs');
    await feed.next('runs');
    await rig.api('DELETE', `/admin-tokens/${token.id}`);
    await feed.ended;
    expect((await browser.feed('/ui/api/live/runs')).status).toBe(401);
  });

  it('dies after KICI_UI_SESSION_HOURS (12) on the orchestrator\'s clock', async () => {
    const browser = await signedIn();
    clock.advance(12 * HOUR - 1000);
    expect((await browser.request('GET', '/ui/api/session')).status).toBe(200);
    clock.advance(1000);
    expect((await browser.request('GET', '/ui/api/session')).status).toBe(401);
    // The next sign-in sweeps the expired rows.
    await signedIn();
    const hash = createHash('sha256').update(browser.secret!).digest('hex');
    const left = await queryBuilderOf(rig.orch.store).selectFrom('ui_sessions').select('secret_hash').where('secret_hash', '=', hash).execute();
    expect(left).toEqual([]);
  });

  it('ends at sign-out: 204, the cookie cleared, the row gone', async () => {
    const browser = await signedIn();
    const hash = createHash('sha256').update(browser.secret!).digest('hex');
    const refused = await browser.request('DELETE', '/ui/api/session', { csrf: false });
    expect(refused.status).toBe(403);
    const answer = await browser.request('DELETE', '/ui/api/session');
    expect(answer.status).toBe(204);
    expect(setCookie(answer)).toMatch(/^kici_session=; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=0/);
    expect((await browser.request('GET', '/ui/api/session')).status).toBe(401);
    const left = await queryBuilderOf(rig.orch.store).selectFrom('ui_sessions').select('secret_hash').where('secret_hash', '=', hash).execute();
    expect(left).toEqual([]);
  });
});

describe('the admin API behind the cookie', () => {
  it('answers an admin session as the bearer-token API does, uncached', async () => {
    const browser = await signedIn();
    const runs = await browser.request('GET', '/ui/api/v1/runs');
    expect(runs.status).toBe(200);
    expect(runs.json()).toEqual(await rig.api('GET', '/runs'));
    expect(runs.headers['cache-control']).toBe('no-store');
    const created = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'from-the-page' } });
    expect(created.status).toBe(201);
    // Without a session the routes are closed.
    expect((await new UiBrowser(rig.url).request('GET', '/ui/api/v1/runs')).status).toBe(401);
  });

  it('lets a viewer read runs and vote on holds, and refuses it anything else (403 forbidden)', async () => {
    const viewer = await adminToken(`ui-viewer-${randomUUID().slice(0, 8)}`, 'viewer');
    const browser = await signedIn(viewer.token);
    expect((await browser.request('GET', '/ui/api/session')).json()).toMatchObject({ role: 'viewer' });
    expect((await browser.request('GET', '/ui/api/v1/runs')).status).toBe(200);
    const write = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'viewer-made' } });
    expect(write.status).toBe(403);
    expect((write.json().error as { code: string }).code).toBe('forbidden');
    expect((await browser.request('GET', '/ui/api/v1/admin-tokens')).status).toBe(403);
    // No such run: the API's own answer (404), not the viewer refusal.
    const approve = await browser.request('POST', `/ui/api/v1/runs/${randomUUID()}/approve`, { body: {} });
    expect(approve.status).not.toBe(403);
    expect(approve.status).toBe(404);
  });

  it('refuses a change from another origin or site (403 cross_origin), and one without X-CSRF-Token (403 csrf)', async () => {
    const browser = await signedIn();
    const crossOrigin = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'forged-1' }, origin: 'http://evil.example' });
    expect(crossOrigin.status).toBe(403);
    expect((crossOrigin.json().error as { code: string }).code).toBe('cross_origin');
    const nullOrigin = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'forged-2' }, origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    const crossSite = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'forged-3' }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect((crossSite.json().error as { code: string }).code).toBe('cross_origin');
    const noCsrf = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'forged-4' }, csrf: false });
    expect(noCsrf.status).toBe(403);
    expect((noCsrf.json().error as { code: string }).code).toBe('csrf');
    const wrongCsrf = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'forged-5' }, headers: { 'x-csrf-token': 'x'.repeat(43) }, csrf: false });
    expect((wrongCsrf.json().error as { code: string }).code).toBe('csrf');
    const names = ((await rig.api('GET', '/agent-tokens')).tokens as { name: string }[]).map((t) => t.name);
    expect(names.filter((n) => n.startsWith('forged'))).toEqual([]);
    // Same origin, same site and the csrf value: accepted.
    const ok = await browser.request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'same-origin' }, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(ok.status).toBe(201);
  });
});

describe('the page\'s files', () => {
  it('sends /ui to /ui/ and puts the security headers on every /ui answer', async () => {
    const browser = new UiBrowser(rig.url);
    const bare = await browser.request('GET', '/ui');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/ui/');
    for (const path of ['/ui', '/ui/', '/ui/assets/app.js', '/ui/assets/no-such-file.js', '/ui/api/session']) {
      const answer = await browser.request('GET', path);
      expect(answer.headers['content-security-policy'], path).toBe(CONTENT_SECURITY_POLICY);
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['referrer-policy'], path).toBe('no-referrer');
      expect(answer.headers['x-frame-options'], path).toBe('DENY');
    }
  });

  it('never serves a file outside the asset folders, however the name is spelled', async () => {
    const browser = new UiBrowser(rig.url);
    const attempts = [
      '/ui/assets/../../package.json',
      '/ui/assets/%2e%2e/%2e%2e/package.json',
      '/ui/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/ui/assets/..%2f..%2fpackage.json',
      '/ui/assets/.%2e/.%2e/package.json',
      '/ui/assets/..%5c..%5cpackage.json',
      '/ui/assets/static/..%2f..%2f..%2fpackage.json',
      '/ui/assets/%252e%252e%252fpackage.json',
    ];
    for (const path of attempts) {
      const answer = await browser.request('GET', path);
      expect(answer.status, path).not.toBe(200);
      expect(answer.text, path).not.toContain('"devDependencies"');
    }
  });
});

describe('bad input', () => {
  it('is a 400 on the live feeds and downloads, not a crash', async () => {
    const browser = await signedIn();
    for (const path of ['/ui/api/live/runs?limit=abc', '/ui/api/live/runs?bogus=1', '/ui/api/live/runs?status=nonsense', `/ui/api/live/runs/${randomUUID()}/logs?job=${'j'.repeat(300)}`, `/ui/api/download/runs/${randomUUID()}/logs?extra=1`]) {
      const answer = await browser.request('GET', path);
      expect(answer.status, path).toBe(400);
      expect((answer.json().error as { code: string }).code, path).toMatch(/invalid_request/);
    }
    expect((await browser.request('GET', '/ui/api/live/runs/not-a-uuid/logs')).status).toBe(404);
    expect((await browser.request('GET', '/ui/api/download/runs/not-a-uuid/logs')).status).toBe(404);
    // Without a session the feeds are closed.
    expect((await new UiBrowser(rig.url).request('GET', '/ui/api/live/runs')).status).toBe(401);
  });
});
