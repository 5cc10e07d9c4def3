import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE } from '../../../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import { signBody } from '../../../src/webhooks/index.js';

const HMAC_SECRET = 'generic-webhook-secret-7781';
const BEARER = 'bearer-token-for-sender-7782';
const GIT_SECRET = 'git-hook-secret-7783';

let tmp: string;
let orch: Orchestrator;
let adminToken: string;
const ids: Record<string, string> = {};

async function api(method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${orch.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

function post(route: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${orch.url}${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

const payload = JSON.stringify({ action: 'opened', ref: 'refs/heads/main', n: 1 });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-webhooks-'));
  const dataDir = path.join(tmp, 'data');
  orch = await startOrchestrator(loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' }));
  adminToken = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
  ids.hmac = (await api('POST', '/sources', { kind: 'generic', orgId: 'acme', name: 'hmac', secret: HMAC_SECRET, allowedEvents: ['push', 'default'] })).id as string;
  ids.bearer = (await api('POST', '/sources', { kind: 'generic', orgId: 'acme', name: 'bearer', verification: 'bearer_token', secret: BEARER })).id as string;
  ids.git = (await api('POST', '/sources', { kind: 'git', orgId: 'acme', name: 'repo', url: 'file:///srv/git/none.git', secret: GIT_SECRET })).id as string;
});

afterAll(async () => {
  await orch?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('webhook routes', () => {
  it('answers 404 for a source that does not exist, or belongs to another organisation or kind', async () => {
    const signed = { 'x-signature-256': signBody(HMAC_SECRET, payload) };
    const unknown = await post('/webhook/acme/generic/src_does_not_exist', payload, signed);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'source_not_found' } });
    expect((await post(`/webhook/other-org/generic/${ids.hmac}`, payload, signed)).status).toBe(404);
    expect((await post(`/webhook/acme/git/${ids.hmac}`, payload, signed)).status).toBe(404);
  });

  it('answers 401 for a missing or wrong signature, without echoing anything secret', async () => {
    const missing = await post(`/webhook/acme/generic/${ids.hmac}`, payload, {});
    const wrong = await post(`/webhook/acme/generic/${ids.hmac}`, payload, { 'x-signature-256': signBody('not-the-secret', payload) });
    const gitWrong = await post(`/webhook/acme/git/${ids.git}`, payload, { 'x-signature-256': signBody('not-the-secret', payload) });
    const bearerWrong = await post(`/webhook/acme/generic/${ids.bearer}`, payload, { authorization: 'Bearer wrong-bearer-value' });
    for (const res of [missing, wrong, gitWrong, bearerWrong]) expect(res.status).toBe(401);
    const text = await wrong.text();
    expect(text).toContain('unauthorized');
    expect(text).not.toContain(HMAC_SECRET);
  });

  it('accepts a correctly signed delivery with 202 and its id', async () => {
    const res = await post(`/webhook/acme/generic/${ids.hmac}`, payload, { 'x-signature-256': signBody(HMAC_SECRET, payload), 'x-delivery-id': 'd-1' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ deliveryId: `${ids.hmac}:d-1`, status: 'accepted' });
  });

  it('answers a resend of the same delivery with 200 duplicate', async () => {
    const headers = { 'x-signature-256': signBody(HMAC_SECRET, payload), 'x-delivery-id': 'd-2' };
    expect((await post(`/webhook/acme/generic/${ids.hmac}`, payload, headers)).status).toBe(202);
    const again = await post(`/webhook/acme/generic/${ids.hmac}`, payload, headers);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ deliveryId: `${ids.hmac}:d-2`, status: 'duplicate' });
  });

  it('keeps an event type the source does not allow as filtered (200)', async () => {
    const res = await post(`/webhook/acme/generic/${ids.hmac}`, payload, {
      'x-signature-256': signBody(HMAC_SECRET, payload),
      'x-delivery-id': 'd-3',
      'x-event-type': 'release',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'filtered' });
  });

  it('accepts a bearer-token source with the right token', async () => {
    const res = await post(`/webhook/acme/generic/${ids.bearer}`, payload, { authorization: `Bearer ${BEARER}`, 'x-delivery-id': 'b-1' });
    expect(res.status).toBe(202);
  });
});

describe('health, readiness and metrics', () => {
  it('/health answers 200 with the node id and version', async () => {
    const res = await fetch(`${orch.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', nodeId: orch.nodeId, version: expect.any(String) });
  });

  it('/ready answers 200 while the database answers', async () => {
    const res = await fetch(`${orch.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  it('/metrics counts received webhooks', async () => {
    const res = await fetch(`${orch.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('kici_webhooks_received_total');
    expect(text).toMatch(/kici_webhooks_received_total\{[^}]*source="generic"[^}]*\} [1-9]/);
    expect(text).not.toContain(HMAC_SECRET);
  });
});
