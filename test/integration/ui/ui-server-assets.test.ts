import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedAuthLimit } from '../../../src/auth-guard/index.js';
import { systemClock } from '../../../src/clock/index.js';
import { Router } from '../../../src/server/http/router.js';
import { createHttpServer } from '../../../src/server/http/server.js';
import { CONTENT_SECURITY_POLICY, openUiRoom, packageAssetRoots, type UiRoom } from '../../../src/ui/index.js';
import { UiBrowser } from './ui-client.js';

/**
 * The page's files, served by the web view's routes on the server's own router and listener, from
 * two throw-away asset folders (so the test does not depend on what the web build produced): the
 * first folder wins, content types follow the extension, one folder level is allowed, and no
 * spelling of a name reaches a file beside the folders.
 */
let tmp: string;
let room: UiRoom;
let url: string;
const http = createHttpServer(pino({ level: 'silent' }));

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-ui-assets-'));
  const built = path.join(tmp, 'dist', 'web');
  const statics = path.join(tmp, 'web', 'static');
  mkdirSync(path.join(built, 'pages'), { recursive: true });
  mkdirSync(statics, { recursive: true });
  writeFileSync(path.join(built, 'app.js'), 'export const built = true;\n');
  writeFileSync(path.join(built, 'app.js.map'), '{"version":3}');
  writeFileSync(path.join(built, 'pages', 'runs.js'), 'export {};\n');
  writeFileSync(path.join(statics, 'app.js'), 'the static copy must lose to the built one\n');
  writeFileSync(path.join(statics, 'index.html'), '<!doctype html><title>kici</title>\n');
  writeFileSync(path.join(statics, 'style.css'), 'body { margin: 0 }\n');
  writeFileSync(path.join(statics, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(path.join(tmp, 'secret.txt'), 'outside the asset folders\n');
  room = openUiRoom({
    basePath: '/ci',
    assetRoots: [built, statics],
    // The file routes touch none of these.
    sessions: undefined as never,
    adminTokens: undefined as never,
    admin: { store: new Proxy({}, { get: () => ({}) }) } as never,
    clock: systemClock,
    sessionTtlMs: 3_600_000,
    failures: new FailedAuthLimit(systemClock),
    addressOf: () => '127.0.0.1',
    trustedProxies: new Set(),
    log: pino({ level: 'silent' }),
  });
  const router = new Router('/ci');
  for (const [method, route, handler] of room.routes) router.on(method, route, handler);
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  http.serve(router, new Map(), '/ci');
  url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/ci`;
});

afterAll(async () => {
  room?.stop();
  await new Promise((resolve) => http.server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('the web view\'s files', () => {
  it('serves index.html at /ui/ and redirects /ui there, keeping the base path', async () => {
    const browser = new UiBrowser(url);
    const bare = await browser.request('GET', '/ui');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/ci/ui/');
    const index = await browser.request('GET', '/ui/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.text).toContain('<title>kici</title>');
    expect(index.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  });

  it('looks in the built folder first, then the static one, with the content type of the extension', async () => {
    const browser = new UiBrowser(url);
    const expected: [string, string, string][] = [
      ['/ui/assets/app.js', 'text/javascript; charset=utf-8', 'built = true'],
      ['/ui/assets/app.js.map', 'application/json; charset=utf-8', '"version"'],
      ['/ui/assets/pages/runs.js', 'text/javascript; charset=utf-8', 'export'],
      ['/ui/assets/style.css', 'text/css; charset=utf-8', 'margin'],
      ['/ui/assets/favicon.svg', 'image/svg+xml', '<svg'],
    ];
    for (const [p, type, content] of expected) {
      const answer = await browser.request('GET', p);
      expect(answer.status, p).toBe(200);
      expect(answer.headers['content-type'], p).toBe(type);
      expect(answer.text, p).toContain(content);
      expect(answer.headers['content-security-policy'], p).toBe(CONTENT_SECURITY_POLICY);
      expect(answer.headers['x-content-type-options'], p).toBe('nosniff');
    }
  });

  it('answers a copy the browser already holds with a bodiless 304, and any other validator with the whole file', async () => {
    const browser = new UiBrowser(url);
    const first = await browser.request('GET', '/ui/assets/style.css');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"[0-9a-z]+-[0-9a-z]+"$/);
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await browser.request('GET', '/ui/assets/style.css', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const other = await browser.request('GET', '/ui/assets/style.css', { headers: { 'if-none-match': 'W/"0-0"' } });
    expect(other.status).toBe(200);
    expect(other.text).toBe(first.text);
  });

  it('answers 404 for names an asset cannot have, and never reaches a file beside the folders', async () => {
    const browser = new UiBrowser(url);
    for (const p of [
      '/ui/assets/../../secret.txt',
      '/ui/assets/..%2f..%2fsecret.txt',
      '/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/ui/assets/%2e%2e/%2e%2e/secret.txt',
      '/ui/assets/.%2e/.%2e/secret.txt',
      '/ui/assets/pages/..%2f..%2f..%2fsecret.txt',
      '/ui/assets/..%5csecret.txt',
      '/ui/assets/App.js',
      '/ui/assets/.hidden',
      '/ui/assets/a/b/c.js',
      '/ui/assets/pages',
      '/ui/assets/missing.js',
    ]) {
      const answer = await browser.request('GET', p);
      expect(answer.status, p).toBe(404);
      expect(answer.text, p).not.toContain('outside the asset folders');
    }
  });

  it('finds the package\'s own folders from wherever the code runs (src/ or dist/src/)', () => {
    const here = path.resolve(import.meta.dirname, '../../..');
    expect(packageAssetRoots()).toEqual([path.join(here, 'dist', 'web'), path.join(here, 'web', 'static')]);
    expect(packageAssetRoots(path.join(here, 'dist', 'src', 'ui', 'assets.js'))).toEqual([path.join(here, 'dist', 'web'), path.join(here, 'web', 'static')]);
  });
});
