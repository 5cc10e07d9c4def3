/**
 * The web view served by a cluster: three coordinator processes on one PostgreSQL (the e2e
 * harness's formCluster), rebalancing off so node-a owns every shard and so every run. A session
 * made on one node is served by every node (sessions live in the database): signed in on node-a,
 * the same cookie reads and changes through node-b and node-c, and signing out on node-b ends it on
 * node-a too, including a live feed open there. A run whose owner is node-a and whose agent sits
 * on node-b has its step log followed live through node-c (Server-Sent Events), to `end`. In
 * Debian's chromium, node-b's `#/cluster` page, reached with that cookie, lists the three members
 * and the leader `/cluster/health` names.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseView } from '../../../chaos/index.js';
import { UiBrowser } from '../../integration/ui/ui-client.js';
import { describeWithBrowser, launchChromium } from '../../support/browser.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, clusterRoot, ensureBuilt, formCluster, GitRepo, killAll, kiciAdminJson, startAgent, waitUntil, type ClusterMember, type RunDetail } from '../harness/index.js';
import { goHash, openPage, textOf, UI_TIMEOUT, uiUrl, untilText, unexpectedProblems } from './ui-kit.js';

const NAMES = ['node-a', 'node-b', 'node-c'];
const root = clusterRoot();
let databaseUrl: string;
let members: ClusterMember[];
let adminToken: string;

beforeAll(async () => {
  ensureBuilt();
  databaseUrl = await freshDatabaseUrl();
  // No rebalancing (node-a keeps every shard: it owns every run) and no git reconcile (every run is the test's).
  members = await formCluster(root, databaseUrl, NAMES, { KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0', KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' });
  adminToken = members[0]!.process.adminToken;
}, 120_000);

afterAll(async () => {
  writeFileSync(path.join(root, 'gate'), '');
  await killAll();
});

const node = (name: string) => members.find((m) => m.name === name)!;

/** Signed in on `on` over HTTP; its cookie's secret and csrf value, as a page holds them. */
async function signedInOn(on: ClusterMember): Promise<UiBrowser> {
  const browser = new UiBrowser(on.url);
  const answer = await browser.signIn(adminToken);
  expect(answer.status, answer.text).toBe(200);
  return browser;
}

/** The same session (cookie and csrf value) presented to another node, as a browser behind a load balancer would. */
function sameSessionOn(session: UiBrowser, on: ClusterMember): UiBrowser {
  const other = new UiBrowser(on.url);
  other.secret = session.secret;
  other.csrf = session.csrf;
  return other;
}

describe('a web view session across the cluster', () => {
  it('made on node-a, is served by node-b and node-c: the session, an admin read that node answers, and a change with the csrf value', async () => {
    const onA = await signedInOn(node('node-a'));
    const mine = (await onA.request('GET', '/ui/api/session')).json();
    expect(mine).toMatchObject({ name: 'admin', role: 'admin', csrf: onA.csrf });
    for (const name of ['node-b', 'node-c']) {
      const elsewhere = sameSessionOn(onA, node(name));
      const session = await elsewhere.request('GET', '/ui/api/session');
      expect(session.status, `${name}: ${session.text}`).toBe(200);
      expect(session.json()).toEqual(mine);
      // Answered by that node (its own view of the cluster), with the cookie as the caller.
      const status = await elsewhere.request('GET', '/ui/api/v1/cluster/status');
      expect(status.status, `${name}: ${status.text}`).toBe(200);
      expect(status.json()).toMatchObject({ nodeId: name });
      expect((status.json().members as { node: string }[]).map((m) => m.node).sort()).toEqual(NAMES);
      expect((await elsewhere.request('GET', '/ui/api/v1/runs')).status).toBe(200);
      // Without the cookie the same node refuses.
      expect((await elsewhere.request('GET', '/ui/api/v1/runs', { cookie: false })).status).toBe(401);
    }
    const made = await sameSessionOn(onA, node('node-c')).request('POST', '/ui/api/v1/agent-tokens', { body: { name: 'made-through-node-c' } });
    expect(made.status, made.text).toBe(201);
    const tokens = await node('node-a').process.api<unknown>('GET', '/agent-tokens');
    expect(JSON.stringify(tokens)).toContain('made-through-node-c');
  });

  it('signed out on node-b, is over on node-a and node-c too, and a live feed open on node-a ends', async () => {
    const onA = await signedInOn(node('node-a'));
    const feed = await onA.feed('/ui/api/live/runs');
    expect(feed.status).toBe(200);
    await feed.next('runs');
    const onB = sameSessionOn(onA, node('node-b'));
    expect((await onB.request('GET', '/ui/api/session')).status).toBe(200);
    const out = await onB.request('DELETE', '/ui/api/session');
    expect(out.status, out.text).toBe(204);
    for (const browser of [onA, sameSessionOn(onA, node('node-c')), onB]) {
      const session = await browser.request('GET', '/ui/api/session');
      expect(session.status, `${browser.origin}: ${session.text}`).toBe(401);
      expect((session.json().error as { code: string }).code).toBe('signed_out');
      expect((await browser.request('GET', '/ui/api/v1/runs')).status).toBe(401);
    }
    // node-a's feed asks again whether its session stands (every 5 s) and stops streaming.
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      feed.ended.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 20_000))),
    ]);
    clearTimeout(timer);
    feed.close();
    expect(ended, 'the live feed on node-a ended after sign-out on node-b').toBe(true);
    expect((await onA.feed('/ui/api/live/runs')).status).toBe(401);
  });
});

describe('a live log followed through a node that does not own the run', () => {
  it('streams the step\'s lines through node-c while the step runs (owner node-a, agent on node-b), then says end', { timeout: 120_000 }, async () => {
    const [a, b, c] = [node('node-a'), node('node-b'), node('node-c')];
    const gate = path.join(root, 'gate');
    const token = (await a.process.api<{ token: string }>('POST', '/agent-tokens', { name: 'agent-on-b' })).token;
    const workDir = path.join(root, 'agent-on-b');
    mkdirSync(workDir, { recursive: true });
    const agent = startAgent({ url: `${b.url.replace(/^http/, 'ws')}/ws`, token, workDir, logFile: path.join(root, 'agent-on-b.log'), maxReconnectDelayMs: 1000, extraEnv: { KICI_AGENT_SANDBOX: 'none' } });
    await waitUntil('the agent to register with node-b', () => {
      if (!agent.running) throw new Error(`the agent exited:\n${agent.tail()}`);
      return existsSync(agent.logFile) && readFileSync(agent.logFile, 'utf8').includes('registered with the orchestrator') ? true : undefined;
    });
    // node-c's agents feed lists the agent node-b holds: the page shows the cluster's agents, whichever node it reached.
    const agentsOnC = await sameSessionOn(await signedInOn(a), c).feed('/ui/api/live/agents');
    type Listed = { id: string; node: string; hostname: string | null; version: string | null; lastSeenAt: string | null; maxConcurrency: number };
    const listed = await agentsOnC.next('agents', (d: { agents: Listed[] }) => d.agents.some((x) => x.node === 'node-b'), 30_000);
    agentsOnC.close();
    // What only node-b heard from the agent reaches node-c in node-b's slot reports.
    expect((listed as { agents: Listed[] }).agents.filter((x) => x.node === 'node-b')).toEqual([
      expect.objectContaining({ node: 'node-b', hostname: hostname(), version: expect.any(String), lastSeenAt: expect.any(String), maxConcurrency: expect.any(Number) }),
    ]);

    const repo = new GitRepo(path.join(root, 'repo'));
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, 'a-webhook-secret-for-the-web-cluster', { mode: 0o600 });
    const source = await kiciAdminJson<{ id: string }>(a.url, adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'talk', '--url', repo.originUrl, '--default-branch', 'main', '--secret', `@${secretFile}`]);
    const wait = `i=0; while [ ! -e '${gate}' ] && [ "$i" -lt 900 ]; do sleep 0.1; i=$((i+1)); done`;
    repo.commitLockfile({
      schemaVersion: 1,
      workflows: [{ name: 'talk', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'say', steps: [{ name: 'speak', run: `echo 'first words from node-b'; ${wait}; echo 'last words from node-b'` }] }] }],
    });
    repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(b.url, adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    const runId = triggered.runs[0]!.id;
    const running = await waitUntil('the job to run', async () => {
      const run = await c.process.api<RunDetail>('GET', `/runs/${runId}`);
      return run.jobs[0]?.status === 'running' ? run : undefined;
    }, { timeoutMs: 60_000 });
    const jobId = running.jobs[0]!.id;

    // Who owns the run: the shard's owner in the database. Not the node the browser reaches.
    const view = await readDatabaseView(databaseUrl);
    const shard = view.runs.find((r) => r.id === runId)!.shard;
    const owner = view.shards.find((s) => s.shard === shard)!.ownerNode;
    expect(owner).toBe('node-a');
    expect(c.name).not.toBe(owner);

    const onC = sameSessionOn(await signedInOn(a), c);
    const logs = await onC.feed(`/ui/api/live/runs/${runId}/logs?job=${jobId}`);
    expect(logs.status).toBe(200);
    const first = await logs.next('line', (d) => d.text === 'first words from node-b', 30_000);
    expect(first).toMatchObject({ jobId, job: 'say', stepName: 'speak' });
    // Seen while the step still runs: the gate is closed, so the last line cannot have been printed.
    expect(logs.events.some((e) => e.event === 'line' && (e.data as { text: string }).text === 'last words from node-b')).toBe(false);
    expect(logs.events.some((e) => e.event === 'end')).toBe(false);
    writeFileSync(gate, '');
    await logs.next('line', (d) => d.text === 'last words from node-b', 30_000);
    await logs.next('end', () => true, 30_000);
    const texts = logs.events.filter((e) => e.event === 'line').map((e) => (e.data as { text: string }).text);
    expect(texts.indexOf('first words from node-b')).toBeLessThan(texts.indexOf('last words from node-b'));
    expect(texts.filter((t) => t === 'first words from node-b')).toHaveLength(1);
    await logs.ended;
    expect((await c.process.api<RunDetail>('GET', `/runs/${runId}`)).status).toBe('success');
    await agent.kill9();
  });
});

describeWithBrowser('the cluster page in a real browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('on node-b, with a session made on node-a, lists the three members and the leader /cluster/health names', { timeout: 90_000 }, async () => {
    const b = node('node-b');
    const onA = await signedInOn(node('node-a'));
    const ui = await openPage(browser);
    try {
      const { page, context } = ui;
      // The cookie node-a set, as the browser would keep it: no sign-in form on node-b.
      await context.addCookies([{ name: 'kici_session', value: onA.secret!, domain: '127.0.0.1', path: '/ui', httpOnly: true, sameSite: 'Strict' }]);
      const answer = await page.goto(uiUrl(b.url));
      expect(answer?.ok()).toBe(true);
      await untilText(page.locator('#signed-in-as'), /admin/);
      await goHash(page, '#/cluster');
      const rows = page.locator('table#members tbody tr[data-node-id]');
      await expect.poll(() => rows.count(), { timeout: UI_TIMEOUT }).toBe(3);
      const ids: (string | null)[] = [];
      for (let i = 0; i < 3; i++) ids.push(await rows.nth(i).getAttribute('data-node-id'));
      expect(ids.sort()).toEqual(NAMES);
      const health = await agreedLeader(members, NAMES);
      const fromB = await b.health();
      expect(fromB.leader?.node).toBe(health.leader!.node);
      await untilText(page.locator('#cluster-leader'), fromB.leader!.node);
      await untilText(page.locator('#cluster-mode'), '3 members');
      // The leader's row is marked as such, and node-b's as the node that answered.
      expect(await page.locator(`table#members tbody tr[data-node-id="${fromB.leader!.node}"]`).getAttribute('class')).toContain('leader');
      expect(await textOf(page.locator('table#members tbody tr[data-node-id="node-b"] td.node'))).toContain('this node');
      expect(unexpectedProblems(ui.problems)).toEqual([]);
    } finally {
      await ui.close();
    }
  });
});
