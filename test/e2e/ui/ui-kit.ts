/**
 * What the web view's browser tests share: a page with its console watched, signing in through the
 * form, waiting for a text to show, steps held open by the test (gates), and a second origin on
 * loopback to send requests from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

// The page's globals, for the functions that run in the browser (the project's TypeScript has no DOM library).
declare const window: any;

/** How long a page is given to show what a test waits for (runs and SSE updates included). */
export const UI_TIMEOUT = 30_000;

export interface UiPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and warnings, uncaught page errors and CSP violations, as they were reported. */
  problems: string[];
  close(): Promise<void>;
}

/** A fresh context (its own cookies) with one page; the console and page errors are collected. */
export async function openPage(browser: Browser, options: BrowserContextOptions = {}): Promise<UiPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  context.setDefaultTimeout(UI_TIMEOUT);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // A confirm() before an action is accepted, as a user would (Playwright dismisses dialogs otherwise).
  page.on('dialog', (d) => void d.accept());
  return { context, page, problems, close: () => context.close() };
}

/** `<orchestrator url>/ui/` (the orchestrator's URL already carries KICI_BASE_PATH). */
export function uiUrl(orchestratorUrl: string): string {
  return `${orchestratorUrl}/ui/`;
}

/** Sign in through the form and wait for the shell to say who is signed in. */
export async function signIn(page: Page, orchestratorUrl: string, token: string): Promise<void> {
  const answer = await page.goto(uiUrl(orchestratorUrl));
  if (!answer?.ok()) throw new Error(`GET ${uiUrl(orchestratorUrl)} answered ${answer?.status()}: ${await answer?.text()}`);
  await page.locator('input#token').fill(token);
  await page.locator('button#sign-in').click();
  await page.locator('#signed-in-as').waitFor({ state: 'visible' });
}

/** Go to a hash route of the app (no reload: only the fragment changes). */
export async function goHash(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
}

/** The element's text, trimmed ('' when it has none). */
export async function textOf(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

/** Wait until the (first) element's trimmed text is `expected` or matches it. */
export async function untilText(locator: Locator, expected: string | RegExp, timeout = UI_TIMEOUT): Promise<void> {
  const poll = expect.poll(() => textOf(locator.first()).catch(() => '<no element>'), { timeout, interval: 100 });
  if (typeof expected === 'string') await poll.toBe(expected);
  else await poll.toMatch(expected);
}

/** A one-workflow lock file triggered by pushes to main. */
export function lockfile(workflow: string, jobs: unknown[]): unknown {
  return { schemaVersion: 1, workflows: [{ name: workflow, triggers: [{ _type: 'push', branches: ['main'] }], jobs }] };
}

/**
 * Steps that wait for the test: `wait(name)` is a shell snippet that blocks until the test calls
 * `open(name)` (or `capSeconds` passed, so a failed test leaves no step behind for long). Needs
 * agents without the bubblewrap sandbox, whose steps see the test's directory.
 */
export class Gates {
  private readonly names = new Set<string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(name: string): string {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`gate name ${name}`);
    return path.join(this.dir, name);
  }

  wait(name: string, capSeconds = 90): string {
    this.names.add(name);
    return `i=0; while [ ! -e '${this.file(name)}' ] && [ "$i" -lt ${capSeconds * 10} ]; do sleep 0.1; i=$((i+1)); done`;
  }

  open(name: string): void {
    writeFileSync(this.file(name), '');
  }

  openAll(): void {
    for (const name of this.names) this.open(name);
  }
}

export interface OtherOrigin {
  /** `http://127.0.0.1:<port>`: the same host as the orchestrator, another port, so another origin (but the same site). */
  origin: string;
  /** Serve `html` at `/`. */
  setPage(html: string): void;
  close(): Promise<void>;
}

/** A tiny HTTP server on loopback standing for someone else's site. */
export async function startOtherOrigin(): Promise<OtherOrigin> {
  let html = '<!doctype html><title>elsewhere</title>';
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    setPage: (h) => void (html = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Problems that are not expected from a healthy page (the signed-out probe's 401 is expected). */
export function unexpectedProblems(problems: string[]): string[] {
  return problems.filter((p) => !/Failed to load resource: the server responded with a status of 401/.test(p));
}
