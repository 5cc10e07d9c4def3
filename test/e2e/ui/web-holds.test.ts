/**
 * A hold decided in Debian's chromium, against real processes (an orchestrator on PostgreSQL, an
 * agent, a git source whose post-receive hook delivers pushes): an environment whose reviewers name
 * the viewer `vera` holds a pushed job. Signed in as a viewer the hold does not name, the run page
 * shows the hold without buttons; signed in as vera it shows `button.approve`, and clicking it
 * approves: the hold turns approved and `#run-status` follows the run to success.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBrowser, launchChromium } from '../../support/browser.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { Installation, kiciAdminJson, waitUntil, type GitSource, type HoldView, type RunDetail } from '../harness/index.js';
import { goHash, lockfile, openPage, signIn, textOf, untilText, unexpectedProblems } from './ui-kit.js';

describeWithBrowser('a hold approved from the run page by the viewer it names', () => {
  let inst: Installation;
  let source: GitSource;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    inst = await Installation.create({ databaseUrl: await freshDatabaseUrl() });
    const { url, adminToken } = inst.orchestrator;
    for (const name of ['vera', 'walt']) {
      tokens[name] = (await kiciAdminJson<{ token: string }>(url, adminToken, ['admin-token', 'create', '--name', name, '--role', 'viewer'])).token;
    }
    await inst.orchestrator.api('POST', '/environments', { orgId: 'e2e', name: 'production', requiredReviewers: ['vera'] });
    await inst.startAgent({ name: 'worker' });
    source = await inst.gitSource();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await inst?.close();
  });

  it('shows the hold to an unnamed viewer without buttons, and to vera with Approve; her click runs the job to success', { timeout: 120_000 }, async () => {
    const sha = source.repo.commitLockfile(lockfile('ship', [{ name: 'deploy', checkout: false, environments: ['production'], steps: [{ name: 'go', run: 'echo deployed after review' }] }]));
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    const held = await waitUntil(`run ${id} to be held for review`, async () => {
      const run = await inst.orchestrator.api<RunDetail & { holds?: HoldView[] }>('GET', `/runs/${id}`);
      return run.holds?.[0]?.status === 'pending' ? run.holds[0] : undefined;
    });
    expect(held).toMatchObject({ job: 'deploy', gate: 'reviewers', reviewers: ['vera'] });

    const walt = await openPage(browser);
    try {
      await signIn(walt.page, inst.orchestrator.url, tokens.walt!);
      await goHash(walt.page, `#/runs/${id}`);
      const hold = walt.page.locator(`#holds .hold[data-hold-id="${held.id}"]`);
      await hold.waitFor();
      await untilText(hold.locator('.hold-reviewers'), /Reviewers: vera/);
      expect(await hold.locator('button.approve').count()).toBe(0);
      expect(await hold.locator('button.reject').count()).toBe(0);
      expect(unexpectedProblems(walt.problems)).toEqual([]);
    } finally {
      await walt.close();
    }

    const vera = await openPage(browser);
    try {
      const { page } = vera;
      await signIn(page, inst.orchestrator.url, tokens.vera!);
      await untilText(page.locator('#signed-in-as'), /vera/);
      await goHash(page, `#/runs/${id}`);
      const hold = page.locator(`#holds .hold[data-hold-id="${held.id}"]`);
      await hold.waitFor();
      expect(await textOf(hold.locator('.hold-job'))).toBe('deploy');
      expect(await textOf(hold.locator('.hold-gate'))).toBe('reviewers');
      await untilText(page.locator('#run-status'), /\b(pending|running|held)\b/);
      await hold.locator('input.hold-reason').fill('looks right from the page');
      await hold.locator('button.approve').click();
      await untilText(page.locator('#run-status'), 'success', 60_000);
      // The page shows the decided hold (no buttons any more) with vera's vote.
      await untilText(hold.locator('.votes li'), 'vera: approve — looks right from the page');
      expect(await hold.locator('button.approve').count()).toBe(0);
      expect(unexpectedProblems(vera.problems)).toEqual([]);
    } finally {
      await vera.close();
    }

    const done = await inst.run(id);
    expect(done.status).toBe('success');
    expect((done as RunDetail & { holds: HoldView[] }).holds[0]).toMatchObject({ status: 'approved', decidedBy: 'vera' });
    expect((await inst.logsContaining(id, ['deployed after review'])).length).toBeGreaterThan(0);
  });
});
