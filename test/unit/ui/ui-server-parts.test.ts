import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { assetPath } from '../../../src/ui/assets.js';
import { cameOverHttps, ownOrigin, refuseCrossOrigin } from '../../../src/ui/request-origin.js';
import { clearedSessionCookie, sessionCookie, sessionSecretOf } from '../../../src/ui/session-cookie.js';

/** A request as the pure parts read it: headers and the TCP peer (and whether the socket is TLS). */
const request = (headers: Record<string, string>, peer = '127.0.0.1', encrypted = false) =>
  ({ headers, socket: { remoteAddress: peer, encrypted } }) as unknown as IncomingMessage;

const PROXY = new Set(['10.0.0.9']);
const SECRET = 'a'.repeat(43);

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, scoped to the web view, and Secure only over https', () => {
    expect(sessionCookie(SECRET, 43_200, { path: '/ci/ui', secure: false })).toBe(`kici_session=${SECRET}; Path=/ci/ui; HttpOnly; SameSite=Strict; Max-Age=43200`);
    expect(sessionCookie(SECRET, 60, { path: '/ui', secure: true })).toMatch(/; Secure$/);
    expect(clearedSessionCookie({ path: '/ui', secure: false })).toBe('kici_session=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0');
  });

  it('is read from among other cookies, and only when it looks like a secret', () => {
    expect(sessionSecretOf(request({ cookie: `a=1; kici_session=${SECRET}; b=2` }))).toBe(SECRET);
    expect(sessionSecretOf(request({ cookie: 'kici_session=short' }))).toBeUndefined();
    expect(sessionSecretOf(request({ cookie: `kici_session=${'a'.repeat(42)}'` }))).toBeUndefined();
    expect(sessionSecretOf(request({ cookie: `not_kici_session=${SECRET}` }))).toBeUndefined();
    expect(sessionSecretOf(request({}))).toBeUndefined();
  });
});

describe('https and the request\'s own origin', () => {
  it('believes X-Forwarded-Proto only from a trusted proxy', () => {
    expect(cameOverHttps(request({ 'x-forwarded-proto': 'https' }, '10.0.0.9'), PROXY)).toBe(true);
    expect(cameOverHttps(request({ 'x-forwarded-proto': 'https, http' }, '::ffff:10.0.0.9'), PROXY)).toBe(true);
    expect(cameOverHttps(request({ 'x-forwarded-proto': 'https' }, '10.0.0.8'), PROXY)).toBe(false);
    expect(cameOverHttps(request({}, '127.0.0.1', true), PROXY)).toBe(true);
    expect(ownOrigin(request({ host: 'CI.example:8443', 'x-forwarded-proto': 'https' }, '10.0.0.9'), PROXY)).toBe('https://ci.example:8443');
  });

  it('refuses another origin, a null origin and a cross-site fetch; admits the page and non-browser clients', () => {
    const own = { host: 'ci.example' };
    const refused = (headers: Record<string, string>) => {
      try {
        refuseCrossOrigin(request({ ...own, ...headers }), PROXY);
        return undefined;
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(refused({ origin: 'http://ci.example' })).toBeUndefined();
    expect(refused({ origin: 'http://ci.example', 'sec-fetch-site': 'same-origin' })).toBeUndefined();
    expect(refused({ 'sec-fetch-site': 'none' })).toBeUndefined();
    expect(refused({})).toBeUndefined();
    expect(refused({ origin: 'https://ci.example' })).toBe('cross_origin');
    expect(refused({ origin: 'http://evil.example' })).toBe('cross_origin');
    expect(refused({ origin: 'null' })).toBe('cross_origin');
    expect(refused({ origin: 'http://ci.example', 'sec-fetch-site': 'same-site' })).toBe('cross_origin');
    expect(refused({ 'sec-fetch-site': 'cross-site' })).toBe('cross_origin');
  });
});

describe('asset names', () => {
  it('are a file name, or one folder and a file name, of lower-case letters, digits, dots, dashes and underscores', () => {
    expect(assetPath('app.js')).toBe('app.js');
    expect(assetPath('app.js.map')).toBe('app.js.map');
    expect(assetPath('runs_page-2.js', 'pages')).toBe('pages/runs_page-2.js');
    for (const bad of ['..', '../x.js', 'a..b.js', '.hidden', 'App.js', 'a/b.js', 'a\\b.js', '', 'x.js\0']) expect(assetPath(bad), bad).toBeNull();
    expect(assetPath('x.js', '..')).toBeNull();
    expect(assetPath('x.js', 'a.b')).toBeNull();
  });
});
