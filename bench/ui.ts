/**
 * `npm run bench -- ui` (issue 20's figures): the web view, served by one orchestrator in this
 * process on PGlite, with 30 queued runs in it (a git source, `runs trigger`, no agent), so the runs
 * table has a full first page (25 rows) to draw. Printed:
 * - the first screen's bytes: what a fresh browser fetches for the sign-in form (index.html, the
 *   modules, the stylesheet, the icon, each time it asks; the body bytes as served: the
 *   orchestrator sends them plain, no gzip), and what the runs page adds after sign-in, from one
 *   more load that waits for the network to go quiet (not timed);
 * - in Debian's chromium (as the browser tests; skipped with the reason when there is none), each of
 *   `loads` fresh pages (a new browser context each: no cache, no cookie): navigation start → the
 *   sign-in form in the DOM, and the sign-in click → the runs table's first rows in the DOM, both on
 *   the page's own clock (`performance.now()` from an init script's MutationObserver, so no driver
 *   round trip is counted; the paint after it is not either), p50/p99; and the same two as the
 *   driver sees them (Playwright's `goto` → the form visible, click → a row visible), which adds
 *   its CDP round trips and polling;
 * - `GET /ui/` and `GET /ui/assets/app.js`, `requests` each one after another over one keep-alive
 *   connection from this process: reply p50/p99 (request written → body read).
 *
 * Sizes (environment; the defaults take about 25 s on two cores):
 *   KICI_BENCH_UI_LOADS      20   fresh page loads (after 2 to warm up)
 *   KICI_BENCH_UI_REQUESTS   200  requests of each asset (after 20 to warm up)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Response } from 'playwright-core';
import { ADMIN_TOKEN_FILE, AdminApi } from '../src/admin/index.js';
import { loadConfig, startOrchestrator } from '../src/server/index.js';
import { findChromium, launchChromium } from '../test/support/browser.js';
import { envInt, percentile } from './cluster-kit.js';

// The page's globals, for the functions that run in the browser (the project's TypeScript has no DOM library).
declare const window: any;
declare const document: any;

const RUNS = 30;
const WARM_LOADS = 2;
const WARM_REQUESTS = 20;

interface Marks {
  form?: number;
  click?: number;
  table?: number;
}

/** Runs in the page before its own scripts: when the form and the first runs row enter the DOM, and the sign-in click. */
function markTimes(): void {
  const marks: Marks = {};
  window.__kiciBench = marks;
  new window.MutationObserver(() => {
    if (marks.form === undefined && document.getElementById('token')) marks.form = performance.now();
    if (marks.table === undefined && document.querySelector('table#runs tbody tr[data-run-id]')) marks.table = performance.now();
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener(
    'click',
    (e: any) => {
      if (marks.click === undefined && e.target?.id === 'sign-in') marks.click = performance.now();
    },
    true,
  );
}

/** One same-origin file's body size and how often the page fetched it. */
interface Fetched {
  bytes: number;
  fetches: number;
}

interface Load {
  /** Page clock: navigation start → the form in the DOM; the click → the first runs row. */
  formMs: number;
  /** Page clock: navigation start → index.html's last byte (the part of `formMs` before any script). */
  htmlMs: number;
  tableMs: number;
  /** Driver's view: goto → form visible; click → row visible. */
  driverFormMs: number;
  driverTableMs: number;
  /** Same-origin bodies fetched before sign-in, and after it (the runs page), by URL path. */
  before: Map<string, Fetched>;
  after: Map<string, Fetched>;
  rows: number;
}

/**
 * One fresh page: load, sign in, see the runs. With `settle`, before counting bytes it also waits
 * for the page's network to go quiet before sign-in and for its images after (outside the timed
 * parts), so the byte counts hold the icon however late the browser asked for it.
 */
async function oneLoad(browser: Browser, url: string, token: string, settle = false): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    context.setDefaultTimeout(30_000);
    await context.addInitScript(markTimes);
    const page = await context.newPage();
    const origin = new URL(url).origin;
    let phase: 'before' | 'after' = 'before';
    const before = new Map<string, Fetched>();
    const after = new Map<string, Fetched>();
    const reads: Promise<void>[] = [];
    page.on('response', (r: Response) => {
      if (!r.url().startsWith(origin) || (r.headers()['content-type'] ?? '').startsWith('text/event-stream')) return;
      const into = phase === 'before' ? before : after;
      const key = new URL(r.url()).pathname;
      reads.push(r.body().then((b) => void into.set(key, { bytes: b.length, fetches: (into.get(key)?.fetches ?? 0) + 1 }), () => undefined));
    });

    const started = performance.now();
    const answer = await page.goto(url);
    if (!answer?.ok()) throw new Error(`GET ${url} answered ${answer?.status()}`);
    await page.locator('input#token').waitFor({ state: 'visible' });
    const driverFormMs = performance.now() - started;
    if (settle) await page.waitForLoadState('networkidle');
    await Promise.all(reads.splice(0));
    phase = 'after';

    await page.locator('input#token').fill(token);
    const clicked = performance.now();
    await page.locator('button#sign-in').click();
    const row = page.locator('table#runs tbody tr[data-run-id]');
    await row.first().waitFor({ state: 'visible' });
    const driverTableMs = performance.now() - clicked;
    const rows = await row.count();
    if (settle) await page.waitForFunction(() => [...document.images].every((i: any) => i.complete));
    const marks: Marks = await page.evaluate(() => window.__kiciBench);
    const htmlMs: number = await page.evaluate(() => window.performance.getEntriesByType('navigation')[0].responseEnd);
    if (marks.form === undefined || marks.click === undefined || marks.table === undefined) throw new Error(`marks missing: ${JSON.stringify(marks)}`);
    await Promise.all(reads.splice(0));
    return { formMs: marks.form, htmlMs, tableMs: marks.table - marks.click, driverFormMs, driverTableMs, before, after, rows };
  } finally {
    await context.close();
  }
}

/** `GET path` over a keep-alive agent: ms from request to the body's end. */
function timedGet(agent: Agent, base: string, route: string): Promise<{ ms: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${base}${route}`, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function replies(base: string, route: string, count: number): Promise<{ p50: number; p99: number; bytes: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < WARM_REQUESTS + count; i++) {
      const r = await timedGet(agent, base, route);
      if (r.status !== 200) throw new Error(`GET ${route} answered ${r.status}`);
      bytes = r.bytes;
      if (i >= WARM_REQUESTS) times.push(r.ms);
    }
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), bytes };
  } finally {
    agent.destroy();
  }
}

/** A git source whose one workflow runs on `main`, and `count` runs of it, left queued (no agent). */
async function seedRuns(api: AdminApi, dir: string, count: number): Promise<void> {
  const repo = path.join(dir, 'repo');
  mkdirSync(path.join(repo, '.kici'), { recursive: true });
  const lockfile = { schemaVersion: 1, workflows: [{ name: 'ui-bench', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', steps: [{ run: 'true' }] }] }] };
  writeFileSync(path.join(repo, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'ui bench']]) execFileSync('git', args, { cwd: repo, env });
  const source = await api.call<{ id: string }>('POST', '/sources', { kind: 'git', orgId: 'bench', name: 'ui-bench', url: `file://${repo}`, secret: randomBytes(16).toString('hex') });
  for (let i = 0; i < count; i++) await api.call('POST', '/runs/trigger', { sourceId: source.id, ref: 'main' });
}

/** The machine's CPUs' idle share over `ms` (from /proc/stat; NaN where there is none): how quiet the bench started. */
async function idleShare(ms: number): Promise<number> {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return a && b && b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : Number.NaN;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (v: number) => v.toFixed(1).padStart(7);
const LABEL = 58;

/** Bytes by kind (each file once; a file fetched twice, as the icon is, says so): html, modules, css, icon; API replies apart. */
function describeBytes(files: Map<string, Fetched>): { total: number; text: string } {
  const kinds = new Map<string, { files: number; bytes: number; fetches: number }>();
  let total = 0;
  for (const [file, f] of files) {
    const kind = /\/api\//.test(file) ? 'API' : file.endsWith('.js') ? 'modules' : file.endsWith('.css') ? 'css' : file.endsWith('.svg') ? 'icon' : 'html';
    const k = kinds.get(kind) ?? { files: 0, bytes: 0, fetches: 0 };
    kinds.set(kind, { files: k.files + 1, bytes: k.bytes + f.bytes, fetches: k.fetches + f.fetches });
    if (kind !== 'API') total += f.bytes * f.fetches;
  }
  const order = ['html', 'modules', 'css', 'icon', 'API'];
  const text = [...kinds]
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([kind, k]) => `${kind === 'modules' ? `${k.files} modules` : kind === 'API' ? `API replies ${k.fetches}×` : kind} ${k.bytes} B${k.fetches > k.files && kind !== 'API' ? ` (fetched ${k.fetches}×)` : ''}`)
    .join(', ');
  return { total, text };
}

export async function runUiBench(): Promise<string> {
  const found = findChromium();
  if (!found.executable) return `Web view: skipped, ${found.reason}`;
  const loads = envInt('KICI_BENCH_UI_LOADS', 20);
  const requests = envInt('KICI_BENCH_UI_REQUESTS', 200);
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-bench-ui-'));
  const env = { KICI_DATA_DIR: path.join(dir, 'data'), KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' };
  const orchestrator = await startOrchestrator(loadConfig(env));
  let browser: Browser | undefined;
  try {
    const token = readFileSync(path.join(env.KICI_DATA_DIR, ADMIN_TOKEN_FILE), 'utf8').trim();
    await seedRuns(new AdminApi(orchestrator.url, token), dir, RUNS);
    const load = loadavg()[0];
    const idle = await idleShare(2_000);

    const html = await replies(orchestrator.url, '/ui/', requests);
    const app = await replies(orchestrator.url, '/ui/assets/app.js', requests);

    browser = await launchChromium();
    const url = `${orchestrator.url}/ui/`;
    for (let i = 0; i < WARM_LOADS; i++) await oneLoad(browser, url, token);
    const measured: Load[] = [];
    for (let i = 0; i < loads; i++) measured.push(await oneLoad(browser, url, token));
    // The bytes from one more load that waits for everything (not timed).
    const counted = await oneLoad(browser, url, token, true);

    const firstScreen = describeBytes(counted.before);
    const runsPage = describeBytes(counted.after);
    const row = (label: string, a: number, b: number) => `  ${label.padEnd(LABEL)}${ms(a)} ${ms(b)}`;
    const rowOf = (label: string, pick: (l: Load) => number) => {
      const v = measured.map(pick);
      return row(label, percentile(v, 0.5), percentile(v, 0.99));
    };
    return [
      `Web view (one orchestrator in this process on PGlite, ${RUNS} queued runs; chromium ${browser.version()} headless; ${availableParallelism()} cores, ${(idle * 100).toFixed(0)} % idle at the start, load ${load.toFixed(2)})`,
      `  first screen (sign-in form), bytes as served (no gzip): ${kb(firstScreen.total)} = ${firstScreen.text}`,
      `  the runs page adds after sign-in: ${kb(runsPage.total)} = ${runsPage.text}`,
      `  ${loads} fresh page loads (a new context each, after ${WARM_LOADS} to warm up), runs table showing ${counted.rows} rows`,
      `  ${''.padEnd(LABEL)} p50 ms  p99 ms`,
      rowOf('navigation → sign-in form in the DOM (page clock)', (l) => l.formMs),
      rowOf('  of which navigation → index.html received', (l) => l.htmlMs),
      rowOf('sign-in click → runs table rows in the DOM (page clock)', (l) => l.tableMs),
      rowOf('goto → form visible (as the driver sees it)', (l) => l.driverFormMs),
      rowOf('click → a row visible (as the driver sees it)', (l) => l.driverTableMs),
      row(`GET /ui/ (${html.bytes} B), ${requests} one after another, keep-alive`, html.p50, html.p99),
      row(`GET /ui/assets/app.js (${app.bytes} B), the same`, app.p50, app.p99),
    ].join('\n');
  } finally {
    await browser?.close();
    await orchestrator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
