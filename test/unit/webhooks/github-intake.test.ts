/**
 * The GitHub route's checks (issue 18): the App named by X-GitHub-Hook-Installation-Target-ID,
 * X-Hub-Signature-256 against the current secret and, within a rotation's grace, the replaced one,
 * JSON and GitHub's form encoding, and the two headers a delivery cannot be judged without.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import type { DeliveryRecord, IntakePorts, IntakeRequest, WebhookSource } from '../../../src/webhooks/index.js';
import { admitDelivery, signBody, SlidingWindowRateLimit } from '../../../src/webhooks/index.js';

const CURRENT = 'current-webhook-secret';
const PREVIOUS = 'previous-webhook-secret';
const APP = '424242';
const T0 = Date.UTC(2026, 0, 1);

const app: WebhookSource = { id: 'src_gh', orgId: 'acme', kind: 'github', name: 'acme', verification: 'hmac_sha256' };

function rig(previous: { secret: string; validUntil: number } | null = null) {
  const clock = new ManualClock(T0);
  const committed: DeliveryRecord[] = [];
  const seen = new Map<string, { deliveryId: string; status: string }>();
  const ports: IntakePorts = {
    findSource: (orgId, route, sourceId) => (route === 'github' && sourceId === APP && orgId === app.orgId ? app : null),
    sourceSecret: () => CURRENT,
    previousSecret: () => previous,
    rateLimit: new SlidingWindowRateLimit(clock),
    seenDelivery: (key) => seen.get(key) ?? null,
    commitDelivery(record) {
      committed.push(record);
      if (record.dedupKey) seen.set(record.dedupKey, { deliveryId: record.deliveryId, status: record.status });
    },
    clock,
  };
  return { clock, committed, ports };
}

const PUSH = JSON.stringify({ ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40), repository: { full_name: 'acme/app' } });

function request(body: string, o: { secret?: string | null; headers?: Record<string, string | undefined>; orgId?: string } = {}): IntakeRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': 'd-1',
    'x-github-hook-installation-target-id': APP,
    'x-github-hook-installation-target-type': 'integration',
  };
  if (o.secret !== null) headers['x-hub-signature-256'] = signBody(o.secret ?? CURRENT, body);
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  return { route: 'github', orgId: o.orgId ?? 'acme', headers, rawBody: Buffer.from(body) };
}

describe('GitHub intake', () => {
  it('accepts a signed JSON delivery under its GitHub delivery id, and keeps no signature in the stored headers', async () => {
    const { ports, committed } = rig();
    const out = await admitDelivery(request(PUSH), ports);
    expect(out.status).toBe(202);
    expect(out.body).toEqual({ deliveryId: 'd-1', status: 'accepted' });
    expect(committed[0]).toMatchObject({ sourceId: 'src_gh', sourceKind: 'github', deliveryId: 'd-1', dedupKey: 'src_gh:d-1', eventType: 'push' });
    expect(committed[0].headers['x-hub-signature-256']).toBeUndefined();
    expect(committed[0].payload).toEqual(JSON.parse(PUSH));
  });

  it("accepts GitHub's form encoding (payload=<json>), signed over the form body as sent", async () => {
    const { ports, committed } = rig();
    const form = `payload=${encodeURIComponent(PUSH)}`;
    const out = await admitDelivery(request(form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), ports);
    expect(out.status).toBe(202);
    expect(committed[0].payload).toEqual(JSON.parse(PUSH));
  });

  it('404 for an App no source has, in another org, or without the target header', async () => {
    const { ports } = rig();
    expect((await admitDelivery(request(PUSH, { headers: { 'x-github-hook-installation-target-id': '1' } }), ports)).status).toBe(404);
    expect((await admitDelivery(request(PUSH, { orgId: 'other' }), ports)).status).toBe(404);
    expect((await admitDelivery(request(PUSH, { headers: { 'x-github-hook-installation-target-id': undefined } }), ports)).status).toBe(404);
  });

  it('401 for a missing, malformed, bare-hex or wrongly keyed signature', async () => {
    const { ports, committed } = rig();
    const bareHex = signBody(CURRENT, PUSH).slice('sha256='.length);
    for (const sig of [undefined, 'sha256=', 'sha256=zz', bareHex, signBody('wrong', PUSH), `sha1=${bareHex}`]) {
      const out = await admitDelivery(request(PUSH, { secret: null, headers: { 'x-hub-signature-256': sig } }), ports);
      expect(out.status, String(sig)).toBe(401);
    }
    expect(committed).toHaveLength(0);
  });

  it('415 for any other content type, 400 for a body that does not parse', async () => {
    const { ports } = rig();
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      expect((await admitDelivery(request(PUSH, { headers: { 'content-type': type } }), ports)).status, type).toBe(415);
    }
    expect((await admitDelivery(request('{not json'), ports)).status).toBe(400);
    const noPayload = 'other=1';
    expect((await admitDelivery(request(noPayload, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), ports)).status).toBe(400);
    const badPayload = `payload=${encodeURIComponent('{nope')}`;
    expect((await admitDelivery(request(badPayload, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), ports)).status).toBe(400);
  });

  it('400 without X-GitHub-Event or X-GitHub-Delivery (after the signature: an unsigned request learns nothing)', async () => {
    const { ports, committed } = rig();
    const noEvent = await admitDelivery(request(PUSH, { headers: { 'x-github-event': undefined } }), ports);
    expect(noEvent).toMatchObject({ status: 400, body: { error: { message: 'header X-GitHub-Event is required' } } });
    const noDelivery = await admitDelivery(request(PUSH, { headers: { 'x-github-delivery': ' ' } }), ports);
    expect(noDelivery).toMatchObject({ status: 400, body: { error: { message: 'header X-GitHub-Delivery is required' } } });
    expect((await admitDelivery(request(PUSH, { secret: 'wrong', headers: { 'x-github-event': undefined } }), ports)).status).toBe(401);
    expect(committed).toHaveLength(0);
  });

  it('a redelivery with the same id answers 200 with the first outcome', async () => {
    const { ports, committed } = rig();
    expect((await admitDelivery(request(PUSH), ports)).status).toBe(202);
    const again = await admitDelivery(request(PUSH), ports);
    expect(again).toMatchObject({ status: 200, body: { deliveryId: 'd-1', status: 'duplicate', firstStatus: 'received' } });
    expect(committed).toHaveLength(1);
  });

  it('the replaced secret signs until its grace ends, and not a millisecond after; the current one always does', async () => {
    const { ports, clock } = rig({ secret: PREVIOUS, validUntil: T0 + 3_600_000 });
    let n = 0;
    const send = (secret: string) => admitDelivery(request(PUSH, { secret, headers: { 'x-github-delivery': `d-${++n}` } }), ports);
    expect((await send(PREVIOUS)).status).toBe(202);
    expect((await send(CURRENT)).status).toBe(202);
    clock.advance(3_600_000 - 1);
    expect((await send(PREVIOUS)).status).toBe(202);
    clock.advance(1);
    expect((await send(PREVIOUS)).status).toBe(401);
    expect((await send(CURRENT)).status).toBe(202);
    expect((await send('neither')).status).toBe(401);
  });
});
