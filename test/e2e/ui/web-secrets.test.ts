import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { maskPatterns } from '../../../src/masking/index.js';
import { describeWithBrowser, launchChromium } from '../../support/browser.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { Installation, kiciAdmin, type GitSource, type RunDetail } from '../harness/index.js';
import { goHash, lockfile, openPage, signIn, untilText, type UiPage } from './ui-kit.js';

/**
 * A secret in the web view, in Debian's chromium against real processes (an orchestrator on
 * PostgreSQL, an agent in its default sandbox, a git source): a step prints the secret it names
 * plainly, base64-encoded and in two writes; the page shows `***` in its place and the value — in
 * any form the masker covers, or either half of the split — is nowhere in the page, in any body the
 * page received (replies and the Server-Sent Events of its live feeds, read from the browser's
 * side) nor in the downloaded log. Then the run page's Rerun makes exactly one new run, and the
 * page moves to it.
 */
// The page's globals, for the functions that run in the browser (the project's TypeScript has no DOM library).
declare const window: any;
declare const document: any;

const ORG = 'e2e';
/** `kici-ui-` keeps the halves from ever matching a run id, a commit or a cookie. */
const SECRET = `kici-ui-${randomBytes(12).toString('hex')}`;
const HALF = 13;

/** Every text that would give the secret away: what the masker masks, and each half of the split print. */
const LEAKS = [...maskPatterns([SECRET]), SECRET.slice(0, HALF), SECRET.slice(HALF)];

/** One `***` where the value was: the value itself, its base64, the value printed in two writes. */
const MASKED_LINES = ['key=***', 'b64=***', 'split=***'];

const SECRET_STEP = [
  'echo "key=$DEPLOY_KEY"',
  "printf 'b64='; printf '%s' \"$DEPLOY_KEY\" | base64",
  `printf 'split=%s' "\${DEPLOY_KEY:0:${HALF}}"; sleep 0.2; printf '%s\\n' "\${DEPLOY_KEY:${HALF}}"`,
  // Proof that the step had the value (a masker with nothing to mask would pass the rest).
  'echo "len=${#DEPLOY_KEY} sha256=$(printf \'%s\' "$DEPLOY_KEY" | sha256sum | cut -c1-64)"',
].join('\n');

/** What the page received from the orchestrator, as the browser saw it. */
interface Received {
  /** Same-origin replies: URL, content type and body (event streams are read below, not here). */
  bodies: { url: string; type: string; text: string }[];
  /** Same-origin replies whose body the browser could not give (with why). */
  unreadable: string[];
  /** The `data` of every Server-Sent Event the page got, from the DevTools protocol. */
  events: string[];
  /** Bodies still being read. */
  pending: Promise<void>[];
}

/** Record every same-origin reply and event the page receives. */
async function record(ui: UiPage, origin: string): Promise<Received> {
  const got: Received = { bodies: [], unreadable: [], events: [], pending: [] };
  const cdp = await ui.context.newCDPSession(ui.page);
  cdp.on('Network.eventSourceMessageReceived', (e) => void got.events.push(e.data));
  await cdp.send('Network.enable');
  ui.page.on('response', (r: Response) => {
    if (!r.url().startsWith(origin)) return;
    const type = r.headers()['content-type'] ?? '';
    // An open feed's body never ends; its events are recorded one by one above.
    if (type.startsWith('text/event-stream')) return;
    got.pending.push(
      r.text().then(
        (text) => void got.bodies.push({ url: r.url(), type, text }),
        (e: Error) => void got.unreadable.push(`${r.status()} ${r.url()}: ${e.message.split('\n')[0]}`),
      ),
    );
  });
  return got;
}

/** The forms of the secret found in `text`, for a message that says which. */
function leaksIn(text: string): string[] {
  return LEAKS.filter((form) => text.includes(form));
}

async function pageText(page: Page): Promise<string> {
  return page.evaluate(() => `${document.title}\n${document.documentElement.outerHTML}\n${document.body.innerText}\n${window.location.href}`);
}

describeWithBrowser('web view in a real browser: a secret masked everywhere the page looks, and rerun', () => {
  let inst: Installation;
  let source: GitSource;
  let browser: Browser;
  let token: string;

  beforeAll(async () => {
    inst = await Installation.create({ databaseUrl: await freshDatabaseUrl() });
    await inst.startAgent({ name: 'worker', maxConcurrency: 2 });
    source = await inst.gitSource(ORG);
    token = inst.orchestrator.adminToken;
    // As an operator would: an environment, the secret in a scope (from a file, so never on a command line), the scope bound.
    const secretFile = path.join(inst.dir, 'deploy-key');
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    for (const args of [
      ['env', 'create', 'production', '--org', ORG],
      ['secret', 'set', 'deploy/prod', 'DEPLOY_KEY', `@${secretFile}`, '--org', ORG],
      ['env', 'bind', 'production', 'deploy/**', '--org', ORG],
    ]) {
      const r = await kiciAdmin(inst.orchestrator.url, token, args);
      if (r.code !== 0) throw new Error(`kici-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await inst?.close();
  });

  /** The job's log in #log has the masked lines and the step's proof of the value. */
  async function expectMaskedLog(page: Page): Promise<void> {
    const lines = page.locator('#log .log-line');
    await lines.filter({ hasText: 'sha256=' }).waitFor();
    const shown = await lines.evaluateAll((els) => els.map((e: any) => e.textContent as string));
    for (const line of MASKED_LINES) expect(shown, shown.join('\n')).toContain(line);
    const digest = createHash('sha256').update(SECRET).digest('hex');
    expect(shown, shown.join('\n')).toContain(`len=${SECRET.length} sha256=${digest}`);
  }

  it('shows *** for the secret in the live log; its value is nowhere in the page, the replies, the feeds or the download; Rerun makes one new run', { timeout: 180_000 }, async () => {
    const ui = await openPage(browser, { acceptDownloads: true });
    try {
      const { page } = ui;
      const got = await record(ui, inst.orchestrator.url);
      await signIn(page, inst.orchestrator.url, token);
      await goHash(page, '#/runs');
      await page.locator('table#runs').waitFor();

      const sha = source.repo.commitLockfile(
        lockfile('ui-secret', [{ name: 'deploy', environments: ['production'], steps: [{ name: 'uses-secret', secrets: ['DEPLOY_KEY'], run: SECRET_STEP }] }]),
      );
      source.repo.push('main');
      const { id } = await inst.runForPush(source, sha);

      // Into the run from the live list, then the job, whose log streams in.
      const row = page.locator(`table#runs tbody tr[data-run-id="${id}"]`);
      await row.locator('a').first().click();
      await page.waitForURL((u) => u.hash === `#/runs/${id}`);
      const job = page.locator('#job-graph .job[data-job-name="deploy"]');
      await job.click();
      await page.locator('#job-detail').waitFor({ state: 'visible' });
      await expectMaskedLog(page);
      await untilText(page.locator('#run-status'), /\bsuccess\b/, 60_000);
      const run: RunDetail = await inst.run(id);
      expect(run.status, JSON.stringify(run.jobs.map((j) => [j.name, j.status, j.error]))).toBe('success');
      await untilText(page.locator('#job-detail .log-state'), 'complete');
      expect(leaksIn(await pageText(page))).toEqual([]);

      // The downloaded log: masked the same way, the value in none of its forms.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a#download-log').click()]);
      const file = readFileSync((await download.path())!, 'utf8');
      for (const line of MASKED_LINES) expect(file.split('\n'), file).toContain(line);
      expect(leaksIn(file), file).toEqual([]);

      // Rerun: one click, one new run (checked through the admin API), and the page goes to it.
      const before = new Set((await inst.runs()).map((r) => r.id));
      const rerun = page.locator('button#rerun-run');
      await rerun.waitFor({ state: 'visible' });
      await rerun.click();
      await page.waitForURL((u) => /^#\/runs\/[^/]+$/.test(u.hash) && u.hash !== `#/runs/${id}`);
      const newId = decodeURIComponent(new URL(page.url()).hash.slice('#/runs/'.length));
      const added = async () => (await inst.runs()).filter((r) => !before.has(r.id)).map((r) => r.id);
      expect(await added()).toEqual([newId]);
      const again = await inst.orchestrator.api<RunDetail & { attempt: number }>('GET', `/runs/${newId}`);
      expect(again.attempt).toBe(2);
      expect(again.workflow).toBe('ui-secret');
      await untilText(page.locator('#run-title'), 'ui-secret · attempt 2');

      // The rerun's job uses the secret too, and is masked the same way on its page.
      await page.locator('#job-graph .job[data-job-name="deploy"]').click();
      await expectMaskedLog(page);
      await untilText(page.locator('#run-status'), /\bsuccess\b/, 60_000);
      expect((await inst.waitForTerminal(newId)).status).toBe('success');
      // Still one new run after the rerun ran to its end (a second POST would have shown by now).
      expect(await added()).toEqual([newId]);
      await untilText(page.locator('#job-detail .log-state'), 'complete');

      // Nothing the page holds or received gives the value away.
      expect(leaksIn(await pageText(page))).toEqual([]);
      await Promise.all(got.pending);
      expect(got.unreadable).toEqual([]);
      const apis = got.bodies.filter((b) => /\/ui\/api\//.test(b.url));
      expect(apis.length, got.bodies.map((b) => b.url).join('\n')).toBeGreaterThan(0);
      for (const body of got.bodies) expect(leaksIn(body.text), `${body.url}\n${body.text.slice(0, 2000)}`).toEqual([]);
      // The log lines reached the page through the feeds: the masked text is there, the value is not.
      const events = got.events.join('\n');
      expect(got.events.filter((e) => e.includes('key=***')).length, events.slice(0, 2000)).toBeGreaterThanOrEqual(2);
      expect(leaksIn(events)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('leaves the secret out of the event log and the agents page too', { timeout: 60_000 }, async () => {
    const ui = await openPage(browser);
    try {
      const { page } = ui;
      const got = await record(ui, inst.orchestrator.url);
      await signIn(page, inst.orchestrator.url, token);
      for (const [hash, ready] of [
        ['#/events', 'table#events tbody tr[data-delivery-id]'],
        ['#/agents', 'table#agents tbody tr[data-agent-id]'],
        ['#/runs', 'table#runs tbody tr[data-run-id]'],
      ] as const) {
        await goHash(page, hash);
        await page.locator(ready).first().waitFor();
        expect(leaksIn(await pageText(page)), hash).toEqual([]);
      }
      await Promise.all(got.pending);
      expect(got.unreadable).toEqual([]);
      for (const body of got.bodies) expect(leaksIn(body.text), body.url).toEqual([]);
      expect(leaksIn(got.events.join('\n'))).toEqual([]);
      expect(got.events.length).toBeGreaterThan(0);
    } finally {
      await ui.close();
    }
  });
});

