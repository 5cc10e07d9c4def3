/**
 * GitHub App sources against a real orchestrator (issue 18, first part): added, shown, rotated and
 * removed through kici-admin as seed 002 writes it, with every secret input mode; signed webhooks
 * on /webhook/<org>/github in JSON and GitHub's form encoding; the refusals (401, 404, 415, 400);
 * redeliveries answered from the first outcome; a rotated webhook secret accepted through its grace
 * and refused after, on the orchestrator's ManualClock; deliveries kept retryable with the reason
 * while the GitHub API cannot be reached (here: nothing listens where it points); and neither the private key nor a webhook secret in any answer,
 * any CLI output or any log line.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { signBody } from '../../../src/webhooks/index.js';
import { printingCli, startTestOrchestrator, type TestOrchestrator } from './cli.js';

const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const KEYS = { first: rsaPem(), rotated: rsaPem(), fromEnv: rsaPem(), fromStdin: rsaPem() };
const SECRETS = {
  first: 'gh-webhook-secret-first-7d1',
  second: 'gh-webhook-secret-second-8e2',
  third: 'gh-webhook-secret-third-9f3',
  fromEnv: 'gh-webhook-secret-env-a04',
  fromStdin: 'gh-webhook-secret-stdin-b15',
  fromFile: 'gh-webhook-secret-file-c26',
};
const ALL_SECRETS = [...Object.values(SECRETS), ...Object.values(KEYS).flatMap((k) => [k, keyBody(k)])];

/** The base64 body of a PEM (what would leak if a key were printed without its armour). */
function keyBody(pem: string): string {
  return pem.split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 3).join('');
}

let t: TestOrchestrator;
let clock: ManualClock;
const logLines: string[] = [];
/** Every CLI call goes through here so the last test can check no secret was ever printed. */
const { printed, admin, adminJson } = printingCli(() => t);

let deliveries = 0;
interface Sent {
  status: number;
  json: Record<string, unknown>;
  deliveryId: string;
}

/** POST one delivery as GitHub would: the App in a header, signed with `secret` (null: unsigned). */
async function github(
  org: string,
  appId: string,
  secret: string | null,
  o: { event?: string; payload?: unknown; form?: boolean; contentType?: string; deliveryId?: string; headers?: Record<string, string | undefined>; rawBody?: string } = {},
): Promise<Sent> {
  const json = JSON.stringify(o.payload ?? PUSH);
  const body = o.rawBody ?? (o.form ? `payload=${encodeURIComponent(json)}` : json);
  const deliveryId = o.deliveryId ?? `72d3162e-cc78-11e3-81ab-${String(++deliveries).padStart(12, '0')}`;
  const headers: Record<string, string> = {
    'content-type': o.contentType ?? (o.form ? 'application/x-www-form-urlencoded' : 'application/json'),
    'x-github-event': o.event ?? 'push',
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '1',
    'x-github-hook-installation-target-id': appId,
    'x-github-hook-installation-target-type': 'integration',
    'user-agent': 'GitHub-Hookshot/abc',
  };
  if (secret !== null) headers['x-hub-signature-256'] = signBody(secret, body);
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const res = await fetch(`${t.orch.url}/webhook/${org}/github`, { method: 'POST', headers, body });
  const text = await res.text();
  printed.push(text);
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, deliveryId };
}

const PUSH = {
  ref: 'refs/heads/main',
  before: 'a'.repeat(40),
  after: 'b'.repeat(40),
  repository: { full_name: 'acme/app', default_branch: 'main' },
  installation: { id: 99 },
  commits: [],
};

/** Processing runs after the 202: poll the event log until the delivery's row says what happened. */
async function eventLog(id: string, ready: (d: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const d = await adminJson(['event-log', 'show', id]);
    if (ready(d)) return d;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`delivery ${id} never got there`);
}

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  // Port 9 on loopback: nothing answers, so reading a lock file through the API fails, retryably.
  t = await startTestOrchestrator('kici-github-sources-', { clock, log: pino({ level: 'debug' }, sink) }, { KICI_GITHUB_API_URL: 'http://127.0.0.1:9' });
});

afterAll(async () => {
  await t?.stop();
});

describe('kici-admin source add github', () => {
  it('adds a source as seed 002 writes it (org defaults to the name) and shows it without secrets', async () => {
    const keyFile = path.join(t.tmp, 'app.pem');
    writeFileSync(keyFile, KEYS.first);
    const created = await adminJson(['source', 'add', 'github', '--name', 'acme', '--app-id', '12345', '--private-key', `@${keyFile}`, '--webhook-secret', SECRETS.first]);
    expect(created).toMatchObject({ kind: 'github', name: 'acme', orgId: 'acme', appId: '12345', hasSecret: true, hasPrivateKey: true, webhookPath: '/webhook/acme/github', enabled: true });
    expect(created.previousSecretValidUntil).toBeUndefined();
    const byAlias = await adminJson(['source', 'get', 'github:12345']);
    expect(byAlias).toMatchObject({ id: created.id, appId: '12345' });
    const list = await adminJson<Record<string, unknown>[]>(['source', 'list']);
    expect(list.find((s) => s.id === created.id)).toMatchObject({ kind: 'github', appId: '12345' });
    const table = await admin(['source', 'list']);
    expect(table.out).toContain('/webhook/acme/github');
  });

  it('takes --org, the private key from --from-env and --stdin, the webhook secret from @file, --webhook-secret-from-env and --webhook-secret-stdin', async () => {
    const secretFile = path.join(t.tmp, 'webhook-secret.txt');
    writeFileSync(secretFile, `${SECRETS.fromFile}\n`);
    process.env.KICI_TEST_GH_KEY = KEYS.fromEnv;
    process.env.KICI_TEST_GH_SECRET = SECRETS.fromEnv;
    try {
      const a = await adminJson(['source', 'add', 'github', '--org', 'globex', '--name', 'globex-ci', '--app-id', '200', '--from-env', 'KICI_TEST_GH_KEY', '--webhook-secret', `@${secretFile}`]);
      expect(a).toMatchObject({ orgId: 'globex', name: 'globex-ci', appId: '200' });
      expect((await github('globex', '200', SECRETS.fromFile)).status).toBe(202);
      const b = await adminJson(['source', 'add', 'github', '--name', 'initech', '--app-id', '201', '--stdin', '--webhook-secret-from-env', 'KICI_TEST_GH_SECRET'], { stdin: KEYS.fromStdin });
      expect(b).toMatchObject({ orgId: 'initech', hasPrivateKey: true });
      expect((await github('initech', '201', SECRETS.fromEnv)).status).toBe(202);
      const c = await adminJson(['source', 'add', 'github', '--name', 'umbrella', '--app-id', '202', '--from-env', 'KICI_TEST_GH_KEY', '--webhook-secret-stdin'], { stdin: `${SECRETS.fromStdin}\n` });
      expect(c).toMatchObject({ orgId: 'umbrella' });
      expect((await github('umbrella', '202', SECRETS.fromStdin)).status).toBe(202);
    } finally {
      delete process.env.KICI_TEST_GH_KEY;
      delete process.env.KICI_TEST_GH_SECRET;
    }
  });

  it('refuses a key that is not an RSA private key, a missing secret, both secrets on stdin, and an App already added', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const notRsa = await admin(['source', 'add', 'github', '--name', 'ec', '--app-id', '300', '--private-key', ec, '--webhook-secret', 's']);
    expect(notRsa.code).toBe(1);
    expect(notRsa.err).toContain('GitHub App keys are RSA');
    const garbage = await admin(['source', 'add', 'github', '--name', 'junk', '--app-id', '301', '--private-key', 'not a key', '--webhook-secret', 's']);
    expect(garbage.code).toBe(1);
    expect(garbage.err).toContain('not a PEM private key');
    expect((await admin(['source', 'add', 'github', '--name', 'x', '--app-id', '302', '--private-key', KEYS.first])).code).toBe(2);
    expect((await admin(['source', 'add', 'github', '--name', 'x', '--app-id', '302', '--stdin', '--webhook-secret-stdin'], { stdin: 'x' })).code).toBe(2);
    const badId = await admin(['source', 'add', 'github', '--name', 'x', '--app-id', 'abc', '--private-key', KEYS.first, '--webhook-secret', 's']);
    expect(badId.code).toBe(1);
    const again = await admin(['source', 'add', 'github', '--name', 'other', '--app-id', '12345', '--private-key', KEYS.first, '--webhook-secret', 's']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('409');
  });
});

describe('POST /webhook/:orgId/github', () => {
  it('accepts signed JSON and form deliveries, records them with their GitHub ids and headers minus the signature', async () => {
    const jsonSent = await github('acme', '12345', SECRETS.first);
    expect(jsonSent).toMatchObject({ status: 202, json: { deliveryId: jsonSent.deliveryId, status: 'accepted' } });
    const formSent = await github('acme', '12345', SECRETS.first, { form: true });
    expect(formSent.status).toBe(202);
    const row = await t.orch.store.deliveries.getWithBody('acme', formSent.deliveryId);
    expect(row).toMatchObject({ sourceKind: 'github', eventType: 'push' });
    expect(row!.body.toString()).toBe(`payload=${encodeURIComponent(JSON.stringify(PUSH))}`);
    expect(row!.headers['x-hub-signature-256']).toBeUndefined();
    expect(row!.headers['x-github-delivery']).toBe(formSent.deliveryId);
  });

  it('keeps a delivery whose lock file GitHub cannot give now received, with the reason in event-log show, and ignores what starts nothing', async () => {
    const sent = await github('acme', '12345', SECRETS.first);
    const d = await eventLog(sent.deliveryId, (x) => x.error !== null);
    expect(d).toMatchObject({ status: 'received', sourceKind: 'github' });
    expect(d.error).toMatch(/^GitHub .*(ECONNREFUSED|connect|fetch failed)/);
    const shown = await admin(['event-log', 'show', sent.deliveryId]);
    expect(shown.out).toContain(String(d.error));
    const ping = await github('acme', '12345', SECRETS.first, { event: 'ping', payload: { zen: 'Keep it logically awesome.', hook_id: 1 } });
    const pinged = await eventLog(ping.deliveryId, (x) => x.status !== 'received');
    expect(pinged).toMatchObject({ status: 'processed', matchedCount: 0, trace: { summary: expect.stringContaining('GitHub event ping starts nothing') } });
    const closed = await github('acme', '12345', SECRETS.first, { event: 'pull_request', payload: { action: 'closed', number: 1 } });
    expect((await eventLog(closed.deliveryId, (x) => x.status !== 'received')).status).toBe('processed');
    const deletion = await github('acme', '12345', SECRETS.first, { payload: { ...PUSH, deleted: true, after: '0'.repeat(40) } });
    expect(await eventLog(deletion.deliveryId, (x) => x.status !== 'received')).toMatchObject({ status: 'processed', trace: { summary: expect.stringContaining('deleted') } });
  });

  it('answers a redelivery (same X-GitHub-Delivery) 200 with the first outcome, and counts it', async () => {
    const first = await github('acme', '12345', SECRETS.first);
    expect(first.status).toBe(202);
    const again = await github('acme', '12345', SECRETS.first, { deliveryId: first.deliveryId, form: true });
    expect(again).toMatchObject({ status: 200, json: { deliveryId: first.deliveryId, status: 'duplicate', firstStatus: 'received' } });
    const metrics = await (await fetch(`${t.orch.url}/metrics`)).text();
    expect(metrics).toMatch(/^kici_dedup_hits_total [1-9]/m);
  });

  it('401 for a bad or missing signature, 404 for an unknown App or another org, 415, 400', async () => {
    expect((await github('acme', '12345', 'wrong-secret')).status).toBe(401);
    expect((await github('acme', '12345', null)).status).toBe(401);
    expect((await github('acme', '999', SECRETS.first)).status).toBe(404);
    expect((await github('globex', '12345', SECRETS.first)).status).toBe(404);
    expect((await github('acme', '12345', SECRETS.first, { headers: { 'x-github-hook-installation-target-id': undefined } })).status).toBe(404);
    expect((await github('acme', '12345', SECRETS.first, { contentType: 'text/plain' })).status).toBe(415);
    expect((await github('acme', '12345', SECRETS.first, { rawBody: '{"ref": ' })).status).toBe(400);
    expect((await github('acme', '12345', SECRETS.first, { form: true, rawBody: 'payload=%7Bnope' })).status).toBe(400);
    const noEvent = await github('acme', '12345', SECRETS.first, { headers: { 'x-github-event': undefined } });
    expect(noEvent).toMatchObject({ status: 400, json: { error: { message: 'header X-GitHub-Event is required' } } });
    expect((await github('acme', '12345', SECRETS.first, { headers: { 'x-github-delivery': undefined } })).status).toBe(400);
  });
});

describe('kici-admin source update github:<appId>', () => {
  it('rotates the webhook secret: the old one is accepted through the default hour of grace and refused after', async () => {
    const updated = await adminJson(['source', 'update', 'github:12345', '--webhook-secret', SECRETS.second]);
    expect(updated.previousSecretValidUntil).toBe(new Date(clock.now() + 3_600_000).toISOString());
    expect((await github('acme', '12345', SECRETS.second)).status).toBe(202);
    expect((await github('acme', '12345', SECRETS.first)).status).toBe(202);
    clock.advance(3_600_000 - 1_000);
    expect((await github('acme', '12345', SECRETS.first)).status).toBe(202);
    clock.advance(1_000);
    expect((await github('acme', '12345', SECRETS.first)).status).toBe(401);
    expect((await github('acme', '12345', SECRETS.second)).status).toBe(202);
    expect((await adminJson(['source', 'get', 'github:12345'])).previousSecretValidUntil).toBeUndefined();
  });

  it('takes --grace (here 10m, then 0: refused at once) and a new private key from @file', async () => {
    await adminJson(['source', 'update', 'github:12345', '--webhook-secret', SECRETS.third, '--grace', '10m']);
    expect((await github('acme', '12345', SECRETS.second)).status).toBe(202);
    clock.advance(10 * 60_000);
    expect((await github('acme', '12345', SECRETS.second)).status).toBe(401);
    await adminJson(['source', 'update', 'github:12345', '--webhook-secret', SECRETS.first, '--grace', '0']);
    expect((await github('acme', '12345', SECRETS.third)).status).toBe(401);
    expect((await github('acme', '12345', SECRETS.first)).status).toBe(202);
    const keyFile = path.join(t.tmp, 'rotated.pem');
    writeFileSync(keyFile, KEYS.rotated);
    expect(await adminJson(['source', 'update', 'github:12345', '--private-key', `@${keyFile}`])).toMatchObject({ hasPrivateKey: true, appId: '12345' });
  });

  it('refuses bad usage: nothing to change, --grace alone, a bad duration, a bad key, a generic source', async () => {
    expect((await admin(['source', 'update', 'github:12345'])).code).toBe(2);
    expect((await admin(['source', 'update', 'github:12345', '--grace', '1h'])).code).toBe(2);
    expect((await admin(['source', 'update', 'github:12345', '--webhook-secret', 'x', '--grace', 'soon'])).code).toBe(2);
    const bad = await admin(['source', 'update', 'github:12345', '--private-key', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('not a PEM private key');
    const generic = await adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', 'hooks', '--secret', 'generic-secret']);
    const r = await admin(['source', 'update', generic.id as string, '--webhook-secret', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('generic source');
  });
});

describe('/api/v1/sources (kind github)', () => {
  const api = async (method: string, route: string, body?: unknown) => {
    const token = readFileSync(path.join(t.tmp, 'data', 'admin-token'), 'utf8').trim();
    const res = await fetch(`${t.orch.url}/api/v1${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    printed.push(text);
    return { status: res.status, json: JSON.parse(text) as Record<string, any> };
  };

  it('creates with a numeric appId, resolves github:<appId> on every route, and refuses settings of other kinds', async () => {
    const created = await api('POST', '/sources', { kind: 'github', name: 'hooli', appId: 555, privateKey: KEYS.first, webhookSecret: SECRETS.first });
    expect(created).toMatchObject({ status: 201, json: { orgId: 'hooli', appId: '555', hasPrivateKey: true, hasSecret: true } });
    expect((await api('GET', '/sources/github%3A555')).json.id).toBe(created.json.id);
    for (const [body, field] of [
      [{ secret: 'x' }, 'secret'],
      [{ token: 'x' }, 'token'],
      [{ rateLimit: 5 }, 'rateLimit'],
      [{ graceSeconds: 60 }, 'graceSeconds'],
    ] as const) {
      const r = await api('PATCH', '/sources/github:555', body);
      expect(r.status, field).toBe(400);
      expect(r.json.error.message).toMatch(new RegExp(`^${field}:`));
    }
    const generic = await api('POST', '/sources', { kind: 'generic', orgId: 'hooli', name: 'g', secret: 'generic-secret' });
    expect((await api('PATCH', `/sources/${generic.json.id}`, { webhookSecret: 'x' })).json.error.message).toMatch(/^webhookSecret: not a setting of generic/);
    expect((await api('PATCH', '/sources/github:555', { graceSeconds: 60 * 60 * 24 * 8, webhookSecret: 'y' })).status).toBe(400);
    expect((await api('DELETE', '/sources/github:555?hard=true')).json).toMatchObject({ id: created.json.id, removed: 'hard' });
    expect((await api('GET', `/sources/${created.json.id}`)).status).toBe(404);
  });
});

describe('kici-admin source remove github:<appId>', () => {
  it('removes the source as seed 002 writes it; its webhooks are 404 from then on, and the App can be added again', async () => {
    const removed = await adminJson(['source', 'remove', 'github:202']);
    expect(removed).toMatchObject({ kind: 'github', name: 'umbrella', removed: 'soft' });
    expect((await github('umbrella', '202', SECRETS.fromStdin)).status).toBe(404);
    expect((await admin(['source', 'get', 'github:202'])).code).toBe(1);
    const readded = await adminJson(['source', 'add', 'github', '--name', 'umbrella', '--app-id', '202', '--private-key', KEYS.first, '--webhook-secret', SECRETS.second]);
    expect(readded.id).not.toBe(removed.id);
    expect((await github('umbrella', '202', SECRETS.second)).status).toBe(202);
  });
});

describe('secrets stay secret', () => {
  it('no answer, CLI output or log line holds a private key or a webhook secret', async () => {
    // The last answers read back every kind of view once more.
    await adminJson(['source', 'list']);
    await adminJson(['event-log', 'list']);
    expect(logLines.length).toBeGreaterThan(0);
    const everything = [...printed, ...logLines].join('\n');
    for (const secret of ALL_SECRETS) expect(everything.includes(secret), 'a secret was printed').toBe(false);
  });
});
