import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBrowser, launchChromium } from '../../support/browser.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { Installation, waitUntil, type GitSource } from '../harness/index.js';
import { Gates, goHash, lockfile, openPage, signIn, textOf, UI_TIMEOUT, uiUrl, untilText } from './ui-kit.js';

/**
 * The web view in Debian's chromium, against real processes: an orchestrator on PostgreSQL, an
 * agent, a git source whose post-receive hook delivers pushes. What a user sees: signing in, a
 * pushed run appearing in the list without a reload, the run's graph, a step's log while the step
 * prints, the cancel button, an agent's row going when the agent stops.
 *
 * With KICI_SCREENSHOT=<file.png> the graph test also writes a picture of the run page there (the
 * README's docs/images/run-page.png).
 */
// The page's globals, for the functions that run in the browser (the project's TypeScript has no DOM library).
declare const window: any;
declare const document: any;

describeWithBrowser('web view in a real browser: runs, live logs, cancel, agents', () => {
  let inst: Installation;
  let source: GitSource;
  let browser: Browser;
  let gates: Gates;
  let token: string;

  beforeAll(async () => {
    inst = await Installation.create({ databaseUrl: await freshDatabaseUrl() });
    // No bubblewrap sandbox: the gated steps wait for files the test writes in its own directory.
    await inst.startAgent({ name: 'worker', maxConcurrency: 4, extraEnv: { KICI_AGENT_SANDBOX: 'none' } });
    source = await inst.gitSource();
    gates = new Gates(path.join(inst.dir, 'gates'));
    token = inst.orchestrator.adminToken;
    browser = await launchChromium();
  });

  afterAll(async () => {
    gates?.openAll();
    await browser?.close();
    await inst?.close();
  });

  it('signs in with an admin token kept out of the URL, page storage and document.cookie (an HttpOnly SameSite=Strict cookie)', async () => {
    const ui = await openPage(browser);
    try {
      const { page, context } = ui;
      await page.goto(uiUrl(inst.orchestrator.url));
      // A wrong token is refused on the form, and nobody is signed in.
      await page.locator('input#token').fill('kat_not_a_real_token');
      await page.locator('button#sign-in').click();
      await untilText(page.locator('#sign-in-error'), /\S/);
      expect(await page.locator('#signed-in-as').isVisible()).toBe(false);

      expect(await page.locator('input#token').getAttribute('type')).toBe('password');
      await page.locator('input#token').fill(token);
      await page.locator('button#sign-in').click();
      await untilText(page.locator('#signed-in-as'), /\(admin\)$/);
      await page.locator('table#runs').waitFor();

      const seen = await page.evaluate(async () => ({
        csrf: ((await (await fetch('api/session')).json()) as { csrf: string }).csrf,
        url: window.location.href,
        cookie: document.cookie,
        local: JSON.stringify({ ...window.localStorage }),
        session: JSON.stringify({ ...window.sessionStorage }),
        requested: performance.getEntriesByType('resource').map((e) => e.name),
      }));
      expect(seen.url).not.toContain(token);
      expect(seen.cookie).not.toContain(token);
      expect(seen.cookie).not.toContain('kici_session');
      expect(seen.local).not.toContain(token);
      expect(seen.session).not.toContain(token);
      expect(seen.requested.filter((u) => u.includes(token))).toEqual([]);
      // The CSRF value lives in a variable of the app, not in page storage either.
      expect(seen.csrf.length).toBeGreaterThan(10);
      expect(seen.local + seen.session + seen.cookie).not.toContain(seen.csrf);

      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'kici_session');
      expect(session, JSON.stringify(cookies)).toBeDefined();
      expect(session!.httpOnly).toBe(true);
      expect(session!.sameSite).toBe('Strict');
      expect(session!.path).toBe('/ui');
      expect(session!.value).not.toContain(token);
    } finally {
      await ui.close();
    }
  });

  it('shows a pushed run in the list without a reload, its status following the run to success', { timeout: 120_000 }, async () => {
    const ui = await openPage(browser);
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await goHash(page, '#/runs');
      await page.locator('table#runs').waitFor();
      let loads = 0;
      page.on('load', () => loads++);
      await page.evaluate(() => void (window.__sameDocument = true));

      const sha = source.repo.commitLockfile(
        lockfile('ui-list', [{ name: 'hello', steps: [{ name: 'say', run: `echo hello from the list; ${gates.wait('list')}` }] }]),
      );
      source.repo.push('main');
      const { id } = await inst.runForPush(source, sha);
      const row = page.locator(`table#runs tbody tr[data-run-id="${id}"]`);
      await row.waitFor();
      await untilText(row.locator('td.status'), /\b(pending|running)\b/);
      gates.open('list');
      await untilText(row.locator('td.status'), /\bsuccess\b/, 60_000);

      expect(await textOf(row.locator('td.workflow'))).toBe('ui-list');
      expect(await textOf(row.locator('td.ref'))).toContain('main');
      const shown = await textOf(row.locator('td.sha'));
      expect(shown.length, shown).toBeGreaterThanOrEqual(7);
      expect(sha.startsWith(shown), `${shown} is a prefix of ${sha}`).toBe(true);
      expect(await textOf(row.locator('td.trigger'))).toMatch(/^push\b/);
      expect(await textOf(row.locator('td.duration'))).toMatch(/\d/);

      // The same document all along: the row came from the live feed, not from a reload.
      expect(loads).toBe(0);
      expect(await page.evaluate(() => window.__sameDocument)).toBe(true);

      // A branch filter that matches nothing hides the row; clearing it brings the row back.
      const branch = page.locator('input#filter-branch');
      await branch.fill('no-such-branch');
      await branch.dispatchEvent('change');
      await row.waitFor({ state: 'detached' });
      await branch.fill('');
      await branch.dispatchEvent('change');
      await row.waitFor();

      // The row links to its run.
      await row.locator('a').first().click();
      await page.waitForURL((u) => u.hash === `#/runs/${id}`);
      await untilText(page.locator('#run-status'), /\bsuccess\b/);
      expect(await textOf(page.locator('#run-title'))).toContain('ui-list');
    } finally {
      await ui.close();
    }
  });

  it('shows a finished run’s jobs as a graph, matrix cells grouped, a job’s agent, steps and log', { timeout: 120_000 }, async () => {
    const shot = process.env.KICI_SCREENSHOT;
    // For the README's picture only: jobs that take a moment, so the durations read like a real run's.
    const pause = shot ? 'sleep 1; ' : '';
    const sha = source.repo.commitLockfile(
      lockfile('ci', [
        { name: 'lint', steps: [{ name: 'eslint', run: pause + "echo 'eslint src test'; printf '\\033[32m✓\\033[0m 0 problems\\n'" }] },
        {
          name: 'build',
          steps: [
            { name: 'install', run: pause + "echo 'npm ci'; echo 'added 212 packages in 3s'" },
            { name: 'compile', run: "echo 'tsc -p tsconfig.build.json'; printf '\\033[1;32mbuilt\\033[0m 214 files\\n'" },
          ],
        },
        {
          name: 'test',
          needs: ['build'],
          matrix: { node: ['20', '22'], shard: ['1', '2'] },
          steps: [{ name: 'unit', run: pause + 'echo "node $KICI_MATRIX_NODE, shard $KICI_MATRIX_SHARD/2"; printf "\\033[32m✓ 128 passed\\033[0m, \\033[33m2 skipped\\033[0m\\n"' }],
        },
        { name: 'package', needs: ['lint', 'test'], steps: [{ name: 'pack', run: pause + 'echo kici-0.1.0.tgz' }] },
      ]),
      { 'src/app.ts': 'export {};\n' },
      'a run worth a picture',
    );
    source.repo.push('main');
    const run = await inst.waitForTerminal((await inst.runForPush(source, sha)).id, 90_000);
    expect(run.status, JSON.stringify(run.jobs.map((j) => [j.name, j.status, j.error]))).toBe('success');

    const ui = await openPage(browser);
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await goHash(page, `#/runs/${run.id}`);
      await untilText(page.locator('#run-status'), /\bsuccess\b/);
      expect(await textOf(page.locator('#run-title'))).toContain('ci');
      await page.locator('button#rerun-run').waitFor({ state: 'visible' });
      expect(await page.locator('button#cancel-run').isVisible()).toBe(false);

      const graph = page.locator('#job-graph');
      await graph.locator('.job').first().waitFor();
      expect(await graph.locator('.job').count()).toBe(run.jobs.length);
      for (const job of run.jobs) {
        const node = graph.locator(`.job[data-job-id="${job.id}"]`);
        expect(await node.getAttribute('data-job-name')).toBe(job.name);
        await untilText(node.locator('.job-status'), /\bsuccess\b/);
      }
      const matrix = graph.locator('.matrix-group[data-base-name="test"]');
      expect(await matrix.count()).toBe(1);
      expect(await matrix.locator('.job').count()).toBe(4);
      expect(await graph.locator('.matrix-group[data-base-name="build"]').count()).toBe(0);
      // The graph follows `needs` left to right: build before the test matrix, both before package.
      const left = async (selector: string) => (await graph.locator(selector).first().boundingBox())!.x;
      const x = {
        lint: await left('.job[data-job-name="lint"]'),
        build: await left('.job[data-job-name="build"]'),
        test: await left('.matrix-group[data-base-name="test"]'),
        package: await left('.job[data-job-name="package"]'),
      };
      expect(x.build, JSON.stringify(x)).toBeLessThan(x.test);
      expect(x.test, JSON.stringify(x)).toBeLessThan(x.package);
      expect(x.lint, JSON.stringify(x)).toBeLessThan(x.package);

      const build = run.jobs.find((j) => j.name === 'build')!;
      await graph.locator(`.job[data-job-id="${build.id}"]`).click();
      const detail = page.locator('#job-detail');
      await detail.waitFor({ state: 'visible' });
      expect(build.agentId).toBeTruthy();
      await untilText(detail.locator('.agent'), new RegExp(build.agentId!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      expect(await detail.locator('ol.steps li[data-step]').count()).toBe(2);
      expect(await textOf(detail.locator('ol.steps li[data-step]').nth(1))).toContain('compile');
      await page.locator('#log .log-line').filter({ hasText: 'built 214 files' }).waitFor();
      expect(await page.locator('#log .log-line').filter({ hasText: 'npm ci' }).count()).toBe(1);

      if (shot) {
        // The log feed has said `end` (the view marks the log complete) before the picture is taken.
        await untilText(page.locator('#job-detail .log-state'), 'complete');
        await page.screenshot({ path: path.resolve(shot), fullPage: true });
      }
    } finally {
      await ui.close();
    }
  });

  it('streams a step’s log into #log while the step is still printing, colours as classes, and downloads it', { timeout: 120_000 }, async () => {
    const sha = source.repo.commitLockfile(
      lockfile('ui-live', [
        {
          name: 'stream',
          steps: [{ name: 'print', run: `echo first-line; printf '\\033[31mred-line\\033[0m plain-tail\\n'; ${gates.wait('live')}; echo after-gate` }],
        },
      ]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);

    const ui = await openPage(browser);
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await goHash(page, `#/runs/${id}`);
      const job = page.locator('#job-graph .job[data-job-name="stream"]');
      await job.waitFor();
      await job.click();
      await page.locator('#job-detail').waitFor({ state: 'visible' });

      const lines = page.locator('#log .log-line');
      await lines.filter({ hasText: 'first-line' }).waitFor();
      const red = lines.filter({ hasText: 'red-line' });
      await red.waitFor();
      // The gate is closed: the step is still running while its first lines are on the page.
      expect((await inst.run(id)).status).toBe('running');
      await untilText(page.locator('#run-status'), /\brunning\b/);
      expect(await lines.filter({ hasText: 'after-gate' }).count()).toBe(0);

      // SGR 31 became a class on the coloured text; no escape characters reached the page.
      expect(await textOf(red.locator('.ansi-fg-1'))).toBe('red-line');
      const redText = await textOf(red);
      expect(redText).toContain('red-line plain-tail');
      expect(redText).not.toMatch(/\u001b|\[31m|\[0m/);

      gates.open('live');
      await lines.filter({ hasText: 'after-gate' }).waitFor();
      await untilText(page.locator('#run-status'), /\bsuccess\b/, 60_000);
      expect(await lines.filter({ hasText: 'first-line' }).count()).toBe(1);

      const link = page.locator('a#download-log');
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toBe(`${id}-stream.log`);
      const text = readFileSync((await download.path())!, 'utf8');
      expect(text).toContain('== print ==');
      expect(text).toContain('first-line');
      expect(text).toContain('red-line');
      expect(text).toContain('after-gate');
      expect(text.indexOf('first-line')).toBeLessThan(text.indexOf('after-gate'));
    } finally {
      await ui.close();
    }
  });

  it('cancels a running run with #cancel-run', { timeout: 120_000 }, async () => {
    const sha = source.repo.commitLockfile(
      lockfile('ui-cancel', [{ name: 'long', steps: [{ name: 'wait', run: `echo cancel-me; ${gates.wait('cancel')}; echo never-printed` }] }]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await inst.logsContaining(id, ['cancel-me']);

    const ui = await openPage(browser);
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await goHash(page, `#/runs/${id}`);
      await untilText(page.locator('#run-status'), /\brunning\b/);
      expect(await page.locator('button#rerun-run').isVisible()).toBe(false);
      await page.locator('button#cancel-run').click();
      await untilText(page.locator('#run-status'), /\bcancelled\b/, 60_000);
      expect((await inst.waitForTerminal(id)).status).toBe('cancelled');
      await page.locator('button#rerun-run').waitFor({ state: 'visible' });
      await page.locator('button#cancel-run').waitFor({ state: 'hidden' });
      const logs = await inst.logs(id);
      expect(logs.some((l) => l.text.includes('never-printed'))).toBe(false);
    } finally {
      gates.open('cancel');
      await ui.close();
    }
  });

  it('lists a connected agent in #/agents and drops its row when the agent stops', { timeout: 90_000 }, async () => {
    const agentIds = async () => (await inst.orchestrator.api<{ agents: { id: string }[] }>('GET', '/agents')).agents.map((a) => a.id);
    const before = new Set(await agentIds());
    const ui = await openPage(browser);
    try {
      const { page } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await page.locator('a[data-nav="agents"]').click();
      await page.locator('table#agents').waitFor();
      const rows = page.locator('table#agents tbody tr[data-agent-id]');
      await rows.first().waitFor();
      const shownBefore = await rows.count();

      const agent = await inst.startAgent({ name: 'short-lived', labels: ['short-lived'], extraEnv: { KICI_AGENT_SANDBOX: 'none' } });
      const agentId = await waitUntil('the new agent in GET /agents', async () => (await agentIds()).find((a) => !before.has(a)), { timeoutMs: UI_TIMEOUT });
      const row = page.locator(`table#agents tbody tr[data-agent-id="${agentId}"]`);
      await row.waitFor();
      expect(await textOf(row)).toContain('short-lived');
      expect(await rows.count()).toBe(shownBefore + 1);

      await agent.stop();
      await row.waitFor({ state: 'detached' });
      expect(await rows.count()).toBe(shownBefore);
      expect(await agentIds()).not.toContain(agentId);
    } finally {
      await ui.close();
    }
  });

  it('signs out: the cookie is cleared and the session no longer answers', async () => {
    const ui = await openPage(browser);
    try {
      const { page, context } = ui;
      await signIn(page, inst.orchestrator.url, token);
      await page.locator('button#sign-out').click();
      await page.locator('input#token').waitFor({ state: 'visible' });
      expect((await context.cookies()).filter((c) => c.name === 'kici_session')).toEqual([]);
      const status = await page.evaluate(async () => (await fetch('api/session')).status);
      expect(status).toBe(401);
    } finally {
      await ui.close();
    }
  });
});
