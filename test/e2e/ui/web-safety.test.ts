import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBrowser, launchChromium } from '../../support/browser.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { Installation, kiciAdminJson, type GitSource } from '../harness/index.js';
import { Gates, goHash, lockfile, openPage, signIn, startOtherOrigin, textOf, uiUrl, unexpectedProblems, untilText, type OtherOrigin } from './ui-kit.js';

/**
 * The web view's safety in Debian's chromium, against real processes (an orchestrator on PostgreSQL
 * under KICI_BASE_PATH=/kici, so every URL of the app must be relative): the Content-Security-Policy,
 * user-controlled strings shown as text, actions refused from another origin and without the CSRF
 * header, and a viewer that can look but not act.
 */
const BASE_PATH = '/kici';
// The page's globals, for the functions that run in the browser (the project's TypeScript has no DOM library).
declare const window: any;
declare const document: any;
const SCRIPT = '<script>window.__pwned = "script"</script>';
const IMG = '<img src=x onerror="window.__pwned = \'img\'">';

describeWithBrowser('web view in a real browser: CSP, HTML injection, other origins, viewers', () => {
  let inst: Installation;
  let source: GitSource;
  let browser: Browser;
  let gates: Gates;
  let other: OtherOrigin;
  let token: string;
  /** A finished run with two jobs (one failed), for walking the views. */
  let doneRunId: string;
  /** A run held running by a gate for the whole file: the target of the refused cancels. */
  let heldRunId: string;

  beforeAll(async () => {
    inst = await Installation.create({ databaseUrl: await freshDatabaseUrl(), env: { KICI_BASE_PATH: BASE_PATH } });
    await inst.startAgent({ name: 'worker', maxConcurrency: 4, extraEnv: { KICI_AGENT_SANDBOX: 'none' } });
    source = await inst.gitSource();
    gates = new Gates(path.join(inst.dir, 'gates'));
    token = inst.orchestrator.adminToken;
    other = await startOtherOrigin();

    const doneSha = source.repo.commitLockfile(
      lockfile('walk', [
        { name: 'ok', steps: [{ name: 'say', run: 'echo fine' }] },
        { name: 'broken', steps: [{ name: 'fail', run: 'echo about to fail; exit 3' }] },
      ]),
    );
    source.repo.push('main');
    doneRunId = (await inst.waitForTerminal((await inst.runForPush(source, doneSha)).id, 60_000)).id;

    const heldSha = source.repo.commitLockfile(lockfile('held', [{ name: 'hold', steps: [{ name: 'wait', run: `echo holding; ${gates.wait('held', 300)}` }] }]));
    source.repo.push('main');
    heldRunId = (await inst.runForPush(source, heldSha)).id;
    await inst.logsContaining(heldRunId, ['holding']);
    browser = await launchChromium();
  });

  afterAll(async () => {
    gates?.openAll();
    await browser?.close();
    await other?.close();
    await inst?.close();
  });

  /** The held run must still be running: nothing refused below may have cancelled it. */
  async function heldIsRunning(page?: Page): Promise<void> {
    expect((await inst.run(heldRunId)).status).toBe('running');
    if (page) await untilText(page.locator('#run-status'), /\brunning\b/);
  }

  it('serves /ui/ with a CSP forbidding inline scripts; every view loads with no console error or CSP violation', { timeout: 90_000 }, async () => {
    const redirect = await fetch(`${inst.orchestrator.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(new URL(redirect.headers.get('location')!, inst.orchestrator.url).pathname).toBe(`${BASE_PATH}/ui/`);

    const ui = await openPage(browser);
    try {
      const { page } = ui;
      // Every answer under /ui (page, assets, API, live feeds) carries the headers, not just the page.
      const unguarded: string[] = [];
      page.on('response', (r) => {
        if (!r.url().startsWith(uiUrl(inst.orchestrator.url))) return;
        const h = r.headers();
        const api = new URL(r.url()).pathname.startsWith(`${BASE_PATH}/ui/api/`);
        if (!h['content-security-policy'] || h['x-content-type-options'] !== 'nosniff' || (api && !/no-store/.test(h['cache-control'] ?? ''))) {
          unguarded.push(`${r.status()} ${r.url()} ${JSON.stringify(h)}`);
        }
      });
      const response = (await page.goto(uiUrl(inst.orchestrator.url)))!;
      expect(response.status()).toBe(200);
      const headers = response.headers();
      const csp = headers['content-security-policy'] ?? '';
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]));
      expect(directives.get('script-src'), csp).toBeDefined();
      expect(directives.get('script-src')).not.toContain("'unsafe-inline'");
      expect(directives.get('script-src')).not.toContain("'unsafe-eval'");
      expect(directives.get('default-src')).toEqual(["'none'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['x-frame-options']).toBe('DENY');

      await page.locator('input#token').fill(token);
      await page.locator('button#sign-in').click();
      await page.locator('#signed-in-as').waitFor();

      await goHash(page, '#/runs');
      await page.locator(`table#runs tbody tr[data-run-id="${doneRunId}"]`).waitFor();
      await goHash(page, `#/runs/${doneRunId}`);
      await untilText(page.locator('#run-status'), /\bfailed\b/);
      await page.locator('#job-graph .job[data-job-name="broken"]').click();
      await page.locator('#log .log-line').filter({ hasText: 'about to fail' }).waitFor();
      await page.locator('a[data-nav="agents"]').click();
      await page.locator('table#agents tbody tr[data-agent-id]').first().waitFor();
      await page.locator('a[data-nav="events"]').click();
      const delivery = page.locator('table#events tbody tr[data-delivery-id]').first();
      await delivery.waitFor();
      await delivery.click();
      await page.locator('#event-detail').waitFor({ state: 'visible' });
      await page.locator('a[data-nav="cluster"]').click();
      await untilText(page.locator('#cluster-mode'), /single node/);

      // Nothing inline for the CSP to refuse: no inline script, style attribute or event handler.
      const inline = await page.evaluate(() => ({
        scripts: document.querySelectorAll('script:not([src])').length,
        styled: document.querySelectorAll('[style]').length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
        external: [...document.querySelectorAll('script[src], link[href]')]
          .map((el) => el.src || el.href)
          .filter((u) => new URL(u).origin !== window.location.origin),
      }));
      expect(inline).toEqual({ scripts: 0, styled: 0, handlers: 0, external: [] });
      expect(unexpectedProblems(ui.problems)).toEqual([]);
      expect(unguarded).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('shows a lock file’s names and a step’s output with <script> and <img onerror> as text, running nothing', { timeout: 120_000 }, async () => {
    const sha = source.repo.commitLockfile(
      lockfile(`xss ${SCRIPT}`, [
        {
          name: 'inject',
          matrix: { payload: [IMG] },
          steps: [{ name: `step ${IMG}`, env: { A: SCRIPT, B: IMG }, run: 'printf "%s\\n" "$A" "$B"' }],
        },
      ]),
    );
    source.repo.push('main');
    const run = await inst.waitForTerminal((await inst.runForPush(source, sha)).id);
    expect(run.status, JSON.stringify(run.jobs)).toBe('success');
    await inst.logsContaining(run.id, [SCRIPT, IMG]);

    // With the CSP bypassed, markup that reached the DOM as HTML would run (an <img onerror> does):
    // this proves the app renders text, not merely that the CSP holds.
    const ui = await openPage(browser, { bypassCSP: true });
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      const pristine = async () =>
        page.evaluate(() => ({
          pwned: window.__pwned,
          scripts: [...document.querySelectorAll('script')].filter((s) => !s.src || s.textContent?.includes('__pwned')).length,
          images: document.querySelectorAll('img[src="x"], [onerror]').length,
        }));

      await goHash(page, '#/runs');
      const row = page.locator(`table#runs tbody tr[data-run-id="${run.id}"]`);
      await row.waitFor();
      expect(await textOf(row.locator('td.workflow'))).toBe(`xss ${SCRIPT}`);
      expect(await pristine()).toEqual({ pwned: undefined, scripts: 0, images: 0 });

      await goHash(page, `#/runs/${run.id}`);
      await untilText(page.locator('#run-status'), /\bsuccess\b/);
      expect(await textOf(page.locator('#run-title'))).toContain(`xss ${SCRIPT}`);
      const job = page.locator('#job-graph .job').first();
      await job.waitFor();
      expect(await page.locator('#job-graph .job').count()).toBe(1);
      expect(await job.getAttribute('data-job-name')).toBe(run.jobs[0].name);
      expect(run.jobs[0].name).toContain(IMG);
      await job.click();
      await page.locator('#job-detail').waitFor({ state: 'visible' });
      expect(await textOf(page.locator('#job-detail ol.steps li[data-step]').first())).toContain(`step ${IMG}`);
      const lines = page.locator('#log .log-line');
      await lines.filter({ hasText: SCRIPT }).waitFor();
      await lines.filter({ hasText: IMG }).waitFor();
      expect(await textOf(lines.filter({ hasText: SCRIPT }))).toContain(SCRIPT);
      expect(await textOf(lines.filter({ hasText: IMG }))).toContain(IMG);
      expect(await pristine()).toEqual({ pwned: undefined, scripts: 0, images: 0 });
    } finally {
      await ui.close();
    }
  });

  it('refuses a cancel sent from another origin (fetch and form, the session cookie attached): 403, run still running', { timeout: 90_000 }, async () => {
    const admin = await openPage(browser);
    try {
      await signIn(admin.page, inst.orchestrator.url, token);
      await goHash(admin.page, `#/runs/${heldRunId}`);
      await heldIsRunning(admin.page);
      const cookie = (await admin.context.cookies()).find((c) => c.name === 'kici_session');
      expect(cookie?.path).toBe(`${BASE_PATH}/ui`);

      const target = `${uiUrl(inst.orchestrator.url)}api/v1/runs/${heldRunId}/cancel`;
      other.setPage(
        `<!doctype html><title>elsewhere</title>
<form id="f" method="post" action="${target}" enctype="text/plain"><input type="hidden" name='{"force":true,"pad":"' value='"}'><button id="go">go</button></form>`,
      );
      // Another page of the same browser context: the session cookie is there, and 127.0.0.1 on
      // another port is the same site, so SameSite=Strict still sends it. The server must refuse.
      const evil = await admin.context.newPage();
      await evil.goto(other.origin);
      const isCancel = (r: { url(): string; request(): { method(): string } }) => r.url() === target && r.request().method() === 'POST';

      // 1. A "simple" cross-origin fetch (no preflight) with credentials.
      const fetched = evil.waitForResponse(isCancel);
      await evil.evaluate(async (t) => {
        await fetch(t, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"force":true}' }).catch(() => undefined);
      }, target);
      const answer = await fetched;
      // (Chromium reports no request headers for a no-cors fetch; the form below shows the cookie going along.)
      expect(answer.status()).toBe(403);
      await heldIsRunning();

      // 2. A form posted from the other site (a top-level navigation).
      const posted = evil.waitForResponse(isCancel);
      await evil.locator('#go').click();
      const formAnswer = await posted;
      expect(formAnswer.status()).toBe(403);
      expect(await formAnswer.request().headerValue('cookie')).toContain('kici_session=');
      expect(await formAnswer.text()).toContain('cross_origin');
      await heldIsRunning();

      // 3. A JSON fetch with a made-up CSRF header needs a preflight, which is not granted.
      await evil.goto(other.origin);
      const outcome = await evil.evaluate(async (t) => {
        try {
          const r = await fetch(t, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-csrf-token': 'guessed' }, body: '{"force":true}' });
          return `answered ${r.status}`;
        } catch {
          return 'blocked';
        }
      }, target);
      expect(outcome).toBe('blocked');

      // 4. Signing in from the other site is refused too (no login CSRF).
      const signInTarget = `${uiUrl(inst.orchestrator.url)}api/session`;
      const signInAnswer = evil.waitForResponse((r) => r.url() === signInTarget && r.request().method() === 'POST');
      await evil.evaluate(async ([t, tok]) => {
        await fetch(t, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ token: tok }) }).catch(() => undefined);
      }, [signInTarget, token] as const);
      expect((await signInAnswer).status()).toBe(403);

      await heldIsRunning(admin.page);
      expect(unexpectedProblems(admin.problems)).toEqual([]);
    } finally {
      await admin.close();
    }
  });

  it('refuses a same-origin action without the CSRF header, or with a wrong one (403 csrf)', async () => {
    const admin = await openPage(browser);
    try {
      await signIn(admin.page, inst.orchestrator.url, token);
      const tries = await admin.page.evaluate(async (id) => {
        const post = async (headers: Record<string, string>) => {
          const r = await fetch(`api/v1/runs/${id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"force":true}' });
          return { status: r.status, code: ((await r.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code };
        };
        return { none: await post({}), wrong: await post({ 'x-csrf-token': 'not-the-session-value' }) };
      }, heldRunId);
      expect(tries).toEqual({ none: { status: 403, code: 'csrf' }, wrong: { status: 403, code: 'csrf' } });
      await heldIsRunning();
    } finally {
      await admin.close();
    }
  });

  it('lets a viewer token sign in and see runs, but not cancel one (403 in #flash, run unchanged)', { timeout: 90_000 }, async () => {
    const created = await kiciAdminJson<{ token: string }>(inst.orchestrator.url, token, ['admin-token', 'create', '--name', 'ui-viewer', '--role', 'viewer']);
    const viewer = await openPage(browser);
    try {
      const { page } = viewer;
      await signIn(page, inst.orchestrator.url, created.token);
      await untilText(page.locator('#signed-in-as'), 'ui-viewer (viewer)');
      await goHash(page, '#/runs');
      await page.locator(`table#runs tbody tr[data-run-id="${heldRunId}"]`).waitFor();
      await page.locator(`table#runs tbody tr[data-run-id="${doneRunId}"]`).waitFor();
      await goHash(page, `#/runs/${heldRunId}`);
      await heldIsRunning(page);

      // The button, when the app shows it to a viewer, gets the API's refusal in #flash.
      const button = page.locator('button#cancel-run');
      if (await button.isVisible()) {
        const refused = page.waitForResponse((r) => r.url().endsWith(`/runs/${heldRunId}/cancel`) && r.request().method() === 'POST');
        await button.click();
        expect((await refused).status()).toBe(403);
        await untilText(page.locator('#flash'), /\S/);
      }
      // The API refuses the viewer even with a valid CSRF value.
      const direct = await page.evaluate(async (id) => {
        const session = (await (await fetch('api/session')).json()) as { role: string; csrf: string };
        const r = await fetch(`api/v1/runs/${id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf }, body: '{}' });
        return { role: session.role, status: r.status, code: ((await r.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code };
      }, heldRunId);
      expect(direct).toEqual({ role: 'viewer', status: 403, code: 'forbidden' });
      await heldIsRunning(page);
    } finally {
      await viewer.close();
    }
  });
});
