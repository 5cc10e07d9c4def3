import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { deliver, startTestOrchestrator, type TestOrchestrator } from './cli.js';

const GIT_SECRET = 'event-log-git-secret-11';
const GENERIC_SECRET = 'event-log-generic-secret-22';

interface DeliveryView {
  id: string;
  orgId: string;
  sourceId: string;
  status: string;
  matchedCount: number;
  eventType: string;
  trace: unknown;
  error: string | null;
}

let t: TestOrchestrator;
let payments: string;
let otherOrgSource: string;
let gitSource: string;
const ids: Record<string, string> = {};

const lockfile = {
  schemaVersion: 1,
  workflows: [
    { name: 'on-charge', triggers: [{ _type: 'generic_webhook', source: 'payments', events: ['charge'] }], jobs: [{ name: 'bill', steps: [{ run: 'true' }] }] },
    { name: 'on-refund', triggers: [{ _type: 'generic_webhook', source: 'payments', events: ['refund'] }], jobs: [{ name: 'refund', steps: [{ run: 'true' }] }] },
  ],
};

/** A repository whose default branch carries the lock file; returns its URL and head commit. */
function repoWithLockfile(dir: string): { url: string; sha: string } {
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.test', '-c', 'user.name=t', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  mkdirSync(path.join(dir, '.kici'), { recursive: true });
  git('init', '--quiet', '--initial-branch=main');
  writeFileSync(path.join(dir, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  git('add', '.');
  git('commit', '--quiet', '-m', 'lock file');
  return { url: `file://${dir}`, sha: git('rev-parse', 'HEAD') };
}

async function api<T>(pathAndQuery: string): Promise<{ status: number; body: T }> {
  const token = readFileSync(path.join(t.tmp, 'data', 'admin-token'), 'utf8').trim();
  const res = await fetch(`${t.orch.url}/api/v1${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

async function processed(orgId: string, deliveryId: string): Promise<DeliveryView> {
  let last: unknown;
  for (let i = 0; i < 300; i++) {
    const r = await api<DeliveryView>(`/event-log/${encodeURIComponent(deliveryId)}?orgId=${orgId}`);
    if (r.status === 200 && r.body.status !== 'received') return r.body;
    last = r.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`delivery ${deliveryId} was not processed: ${JSON.stringify(last)}`);
}

/** Generic delivery ids are stored scoped to their source (`<sourceId>:<sender's id>`). */
async function sendGeneric(sourceId: string, orgId: string, senderId: string, eventType: string, body: object): Promise<{ status: number; id: string }> {
  const text = JSON.stringify(body);
  const r = await deliver(t.orch, orgId, sourceId, text, { 'x-signature-256': signBody(GENERIC_SECRET, text), 'x-delivery-id': senderId, 'x-event-type': eventType });
  expect(r.json.deliveryId).toBe(`${sourceId}:${senderId}`);
  return { status: r.status, id: r.json.deliveryId as string };
}

beforeAll(async () => {
  t = await startTestOrchestrator('kici-event-log-');
  const repoDir = path.join(t.tmp, 'repo');
  mkdirSync(repoDir);
  const repo = repoWithLockfile(repoDir);
  const git = await t.adminJson(['source', 'add', 'git', '--org', 'acme', '--name', 'app', '--url', repo.url, '--secret', GIT_SECRET]);
  const push = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: repo.sha, repository: { name: 'app' } });
  const pushed = await fetch(`${t.orch.url}/webhook/acme/git/${git.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature-256': signBody(GIT_SECRET, push), 'x-delivery-id': `${git.id}:refs/heads/main:${repo.sha}` },
    body: push,
  });
  expect(pushed.status).toBe(202);
  ids.push = `${git.id}:refs/heads/main:${repo.sha}`;
  gitSource = git.id as string;
  await processed('acme', ids.push);

  payments = (await t.adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', 'payments', '--secret', GENERIC_SECRET, '--allowed-events', 'charge,refund'])).id as string;
  otherOrgSource = (await t.adminJson(['source', 'add', 'generic', '--org', 'globex', '--name', 'payments', '--secret', GENERIC_SECRET])).id as string;

  const charge = await sendGeneric(payments, 'acme', 'dlv-charge-1', 'charge', { amount: 42, note: 'the-raw-body-marker' });
  expect(charge.status).toBe(202);
  ids.charge = charge.id;
  const ping = await sendGeneric(payments, 'acme', 'dlv-ping-2', 'ping', { hello: true });
  expect(ping.status).toBe(200);
  ids.filtered = ping.id;
  const refund = await sendGeneric(payments, 'acme', 'dlv-refund-3', 'refund', { amount: 1 });
  expect(refund.status).toBe(202);
  ids.refund = refund.id;
  const elsewhere = await sendGeneric(otherOrgSource, 'globex', 'dlv-refund-3', 'refund', { amount: 2 });
  expect(elsewhere.status).toBe(202);
  ids.elsewhere = elsewhere.id;
  await processed('acme', ids.charge);
  await processed('acme', ids.refund);
  await processed('globex', ids.elsewhere);
  // Ids are unique per organisation only; one that exists in two (an import, a replay) needs --org.
  for (const orgId of ['acme', 'globex']) {
    await t.orch.store.deliveries.record(
      { orgId, deliveryId: 'replayed-1', sourceId: orgId === 'acme' ? payments : otherOrgSource, sourceKind: 'generic', eventType: 'refund', headers: {}, body: Buffer.from('{}') },
      new Date(Date.now() - 3_600_000),
    );
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('kici-admin event-log list', () => {
  it('lists an organisation’s deliveries newest first, with status and matched count', async () => {
    const list = await t.adminJson<DeliveryView[]>(['event-log', 'list', '--org', 'acme']);
    expect(list.map((d) => d.id)).toEqual([ids.refund, ids.filtered, ids.charge, ids.push, 'replayed-1']);
    expect(list.find((d) => d.id === ids.charge)).toMatchObject({ status: 'processed', matchedCount: 1, eventType: 'charge' });
    expect(list.find((d) => d.id === ids.filtered)).toMatchObject({ status: 'filtered', matchedCount: 0 });
  });

  it('filters by status, by source, and limits', async () => {
    const filtered = await t.adminJson<DeliveryView[]>(['event-log', 'list', '--org', 'acme', '--status', 'filtered']);
    expect(filtered.map((d) => d.id)).toEqual([ids.filtered]);
    const bySource = await t.adminJson<DeliveryView[]>(['event-log', 'list', '--org', 'acme', '--source', payments]);
    expect(bySource.map((d) => d.id)).toEqual([ids.refund, ids.filtered, ids.charge, 'replayed-1']);
    const one = await t.adminJson<DeliveryView[]>(['event-log', 'list', '--org', 'acme', '--limit', '1']);
    expect(one.map((d) => d.id)).toEqual([ids.refund]);
  });

  it('without --org lists every organisation, and prints a table', async () => {
    const all = await t.adminJson<DeliveryView[]>(['event-log', 'list']);
    expect(new Set(all.map((d) => d.orgId))).toEqual(new Set(['acme', 'globex']));
    const table = await t.admin(['event-log', 'list', '--org', 'globex']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^ID\s+ORGID\s+SOURCEID\s+EVENTTYPE\s+STATUS\s+MATCHEDCOUNT/);
    expect(table.out).toContain(ids.elsewhere);
    expect(table.out).not.toContain(ids.charge);
  });

  it('refuses a bad status or limit with usage and exit 2', async () => {
    for (const args of [['--status', 'lost'], ['--limit', '0'], ['--limit', 'lots']]) {
      const r = await t.admin(['event-log', 'list', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).not.toBe('');
    }
  });

  it('accepts the API spellings org/orgId alike', async () => {
    const a = await api<{ deliveries: DeliveryView[] }>('/event-log?org=globex');
    const b = await api<{ deliveries: DeliveryView[] }>('/event-log?orgId=globex');
    expect(a.body.deliveries.map((d) => d.id)).toEqual([ids.elsewhere, 'replayed-1']);
    expect(b.body).toEqual(a.body);
  });
});

describe('kici-admin event-log show', () => {
  it('shows the outcome and the decision trace, never headers or the body', async () => {
    const r = await t.admin(['event-log', 'show', ids.charge]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/status\s+processed/);
    expect(r.out).toMatch(/matchedCount\s+1/);
    expect(r.out).toContain('trace: 2 workflow(s) considered');
    expect(r.out).toMatch(/ {2}matched +on-charge/);
    expect(r.out).toMatch(/not matched +on-refund/);
    expect(r.out).not.toContain('the-raw-body-marker');
    expect(r.out).not.toContain('x-signature-256');

    const json = await t.adminJson<Record<string, unknown>>(['event-log', 'show', ids.charge]);
    expect(json).toMatchObject({ id: ids.charge, status: 'processed', matchedCount: 1, error: null });
    expect((json.trace as { workflowName: string; matched: boolean }[]).map((d) => [d.workflowName, d.matched])).toEqual([
      ['on-charge', true],
      ['on-refund', false],
    ]);
    expect(json).not.toHaveProperty('headers');
    expect(json).not.toHaveProperty('body');
    expect(JSON.stringify(json)).not.toContain(signBody(GENERIC_SECRET, JSON.stringify({ amount: 42, note: 'the-raw-body-marker' })).slice(7));
  });

  it('with --payload prints the raw body and only the body', async () => {
    const r = await t.admin(['event-log', 'show', ids.charge, '--payload']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(JSON.stringify({ amount: 42, note: 'the-raw-body-marker' }));
    const json = await t.adminJson<Record<string, unknown>>(['event-log', 'show', ids.charge, '--payload']);
    expect(json).toMatchObject({ body: r.out, bodyEncoding: 'utf8' });
    expect(json).not.toHaveProperty('headers');
  });

  it('shows a filtered delivery with its status and no trace', async () => {
    const r = await t.admin(['event-log', 'show', ids.filtered, '--org', 'acme']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/status\s+filtered/);
    expect(r.out).toMatch(/eventType\s+ping/);
  });

  it('asks for --org when the id exists in several organisations, and finds it with --org', async () => {
    const ambiguous = await t.admin(['event-log', 'show', 'replayed-1']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.err).toMatch(/several organisations \(acme, globex\).*409/);
    const globex = await t.adminJson<DeliveryView>(['event-log', 'show', 'replayed-1', '--org', 'globex']);
    expect(globex).toMatchObject({ orgId: 'globex', sourceId: otherOrgSource });
  });

  it('answers an unknown delivery with exit 1 and 404', async () => {
    const r = await t.admin(['event-log', 'show', 'dlv-never-seen']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no delivery dlv-never-seen.*404/);
    expect((await t.admin(['event-log', 'show'])).code).toBe(2);
  });
});

describe('removing a source the event log names', () => {
  it('--hard purges a git source with registered workflows; its deliveries stay in the log', async () => {
    const registered = () => t.orch.store.registrations.list(gitSource);
    expect((await registered()).map((r) => r.workflowName).sort()).toEqual(['on-charge', 'on-refund']);
    const r = await t.admin(['source', 'remove', gitSource, '--hard', '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(await registered()).toEqual([]);
    const log = await t.adminJson<DeliveryView[]>(['event-log', 'list', '--org', 'acme', '--source', gitSource]);
    expect(log.map((d) => d.id)).toEqual([ids.push]);
  });
});
