import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import type { DeliveryRecord, IntakePorts, IntakeRequest, PriorDelivery, WebhookSource } from '../../../src/webhooks/index.js';
import { admitDelivery, ROUTE_BODY_CAP_BYTES, signBody, SlidingWindowRateLimit } from '../../../src/webhooks/index.js';

const SECRET = 'super-secret-webhook-key';

const genericSource: WebhookSource = {
  id: 'src_gen',
  orgId: 'org1',
  kind: 'generic',
  name: 'deploys',
  verification: 'hmac_sha256',
  rateLimitPerMinute: 2,
  maxPayloadBytes: 64,
  allowedEvents: ['deploy'],
};

const gitSource: WebhookSource = { id: 'src_git', orgId: 'org1', kind: 'git', name: 'repo', verification: 'hmac_sha256' };

interface Fake {
  ports: IntakePorts;
  committed: DeliveryRecord[];
  calls: string[];
  seen: Map<string, PriorDelivery>;
}

function fakePorts(sources: WebhookSource[] = [genericSource, gitSource]): Fake {
  const committed: DeliveryRecord[] = [];
  const calls: string[] = [];
  const seen = new Map<string, PriorDelivery>();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ports: IntakePorts = {
    findSource(orgId, route, sourceId) {
      calls.push('findSource');
      return sources.find((s) => s.id === sourceId && s.orgId === orgId && s.kind === route) ?? null;
    },
    sourceSecret() {
      calls.push('sourceSecret');
      return SECRET;
    },
    rateLimit: new SlidingWindowRateLimit(clock),
    seenDelivery(key) {
      calls.push('seenDelivery');
      return seen.get(key) ?? null;
    },
    commitDelivery(record) {
      calls.push('commitDelivery');
      committed.push(record);
      if (record.dedupKey) seen.set(record.dedupKey, { deliveryId: record.deliveryId, status: record.status });
    },
    clock,
    newDeliveryId: () => 'generated-id',
  };
  return { ports, committed, calls, seen };
}

function genericRequest(body: string, headers: Record<string, string> = {}, sign = true): IntakeRequest {
  const raw = Buffer.from(body);
  return {
    route: 'generic',
    orgId: 'org1',
    sourceId: 'src_gen',
    rawBody: raw,
    headers: {
      'content-type': 'application/json',
      'x-event-type': 'deploy',
      ...(sign ? { 'x-signature-256': signBody(SECRET, raw) } : {}),
      ...headers,
    },
  };
}

describe('admitDelivery: one answer per check, in order', () => {
  it('413 when the body is over the route cap, before the source is even looked up', async () => {
    const fake = fakePorts();
    const request = { ...genericRequest('{}'), rawBody: Buffer.alloc(ROUTE_BODY_CAP_BYTES + 1) };
    const reply = await admitDelivery(request, fake.ports);
    expect(reply.status).toBe(413);
    expect(fake.calls).toEqual([]);
  });

  it('404 for an unknown source, a disabled one, or one of another org', async () => {
    const disabled = { ...genericSource, id: 'src_off', enabled: false };
    const fake = fakePorts([genericSource, disabled]);
    expect((await admitDelivery({ ...genericRequest('{}'), sourceId: 'nope' }, fake.ports)).status).toBe(404);
    expect((await admitDelivery({ ...genericRequest('{}'), sourceId: 'src_off' }, fake.ports)).status).toBe(404);
    const reply = await admitDelivery({ ...genericRequest('{}'), orgId: 'org2' }, fake.ports);
    expect(reply).toEqual({ status: 404, body: { error: { code: 'source_not_found', message: expect.any(String) } } });
  });

  it('404 also when a source id is used on the route of another kind', async () => {
    const fake = fakePorts();
    const reply = await admitDelivery({ ...genericRequest('{}'), route: 'git', sourceId: 'src_gen' }, fake.ports);
    expect(reply.status).toBe(404);
  });

  it('401 for a missing or wrong signature; the reply never echoes the secret or the signature', async () => {
    const fake = fakePorts();
    const unsigned = await admitDelivery(genericRequest('{}', {}, false), fake.ports);
    expect(unsigned.status).toBe(401);
    const forged = signBody('wrong-secret', Buffer.from('{}'));
    const wrong = await admitDelivery(genericRequest('{}', { 'x-signature-256': forged }), fake.ports);
    expect(wrong.status).toBe(401);
    const text = JSON.stringify(wrong);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(forged.slice(7));
    expect(fake.committed).toHaveLength(0);
  });

  it('401 does not count against the rate limit', async () => {
    const fake = fakePorts();
    for (let i = 0; i < 5; i++) await admitDelivery(genericRequest('{}', {}, false), fake.ports);
    expect((await admitDelivery(genericRequest('{}'), fake.ports)).status).toBe(202);
  });

  it('429 with Retry-After once the source is over its rate limit', async () => {
    const fake = fakePorts();
    expect((await admitDelivery(genericRequest('{}'), fake.ports)).status).toBe(202);
    expect((await admitDelivery(genericRequest('{}'), fake.ports)).status).toBe(202);
    const reply = await admitDelivery(genericRequest('{}'), fake.ports);
    expect(reply.status).toBe(429);
    expect(reply.headers).toEqual({ 'Retry-After': '60' });
    expect(reply.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
  });

  it("413 when the body is over the source's payload limit (checked after authentication)", async () => {
    const fake = fakePorts();
    const big = JSON.stringify({ pad: 'x'.repeat(100) });
    expect((await admitDelivery(genericRequest(big, {}, false), fake.ports)).status).toBe(401);
    const reply = await admitDelivery(genericRequest(big), fake.ports);
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('400 when the body does not parse as its content type', async () => {
    const fake = fakePorts();
    const reply = await admitDelivery(genericRequest('{"broken":'), fake.ports);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { code: 'bad_request' } });
    expect(fake.committed).toHaveLength(0);
  });

  it('415 for a content type the route does not take, after authentication, and nothing is committed', async () => {
    const fake = fakePorts();
    expect((await admitDelivery(genericRequest('{}', { 'content-type': 'text/plain' }, false), fake.ports)).status).toBe(401);
    const reply = await admitDelivery(genericRequest('{}', { 'content-type': 'text/plain' }), fake.ports);
    expect(reply.status).toBe(415);
    expect(reply.body).toMatchObject({ error: { code: 'unsupported_media_type', message: expect.stringContaining('application/json') } });
    const form = await admitDelivery(genericRequest('payload=%7B%7D', { 'content-type': 'application/x-www-form-urlencoded' }), fake.ports);
    expect(form.status).toBe(415);
    expect(fake.committed).toHaveLength(0);
  });

  it('200 duplicate with the first outcome when the delivery id was seen', async () => {
    const fake = fakePorts();
    const first = await admitDelivery(genericRequest('{}', { 'x-delivery-id': 'd-1' }), fake.ports);
    expect(first.body).toEqual({ deliveryId: 'src_gen:d-1', status: 'accepted' });
    const again = await admitDelivery(genericRequest('{}', { 'x-delivery-id': 'd-1' }), fake.ports);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ deliveryId: 'src_gen:d-1', status: 'duplicate', firstStatus: 'received' });
    expect(fake.committed).toHaveLength(1);
  });

  it('200 duplicate when commitDelivery reports that a concurrent delivery won', async () => {
    const fake = fakePorts();
    fake.ports.commitDelivery = () => ({ duplicateOf: { deliveryId: 'src_gen:d-2', status: 'received' } });
    const reply = await admitDelivery(genericRequest('{}', { 'x-delivery-id': 'd-2' }), fake.ports);
    expect(reply).toMatchObject({ status: 200, body: { status: 'duplicate' } });
  });

  it('200 filtered when the event type is not allowed; the delivery is logged as filtered', async () => {
    const fake = fakePorts();
    const reply = await admitDelivery(genericRequest('{}', { 'x-event-type': 'ping', 'x-delivery-id': 'p1' }), fake.ports);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ deliveryId: 'src_gen:p1', status: 'filtered' });
    expect(fake.committed.map((r) => r.status)).toEqual(['filtered']);
  });

  it('202 accepted after the record is committed, with stripped headers and the raw body', async () => {
    const fake = fakePorts();
    const raw = '{"action":"started","env":"prod"}';
    const reply = await admitDelivery(genericRequest(raw, { authorization: 'Bearer x' }), fake.ports);
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ deliveryId: 'generated-id', status: 'accepted' });
    expect(fake.calls).toEqual(['findSource', 'sourceSecret', 'commitDelivery']);
    const record = fake.committed[0];
    expect(record).toMatchObject({
      orgId: 'org1',
      sourceId: 'src_gen',
      sourceKind: 'generic',
      deliveryId: 'generated-id',
      dedupKey: null,
      eventType: 'deploy',
      action: 'started',
      status: 'received',
      payload: { action: 'started', env: 'prod' },
      payloadSize: raw.length,
      receivedAt: new Date(Date.UTC(2026, 0, 1)),
    });
    expect(record.rawBody.toString()).toBe(raw);
    expect(record.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(record.headers).sort()).toEqual(['content-type', 'x-event-type']);
    expect(reply.delivery).toBe(record);
  });

  it('git route: requires the sha256= prefix and records the hook delivery id', async () => {
    const fake = fakePorts();
    const raw = Buffer.from(JSON.stringify({ ref: 'refs/tags/v1', before: '0'.repeat(40), after: 'a'.repeat(40), repository: { name: 'r' } }));
    const base: IntakeRequest = {
      route: 'git',
      orgId: 'org1',
      sourceId: 'src_git',
      rawBody: raw,
      headers: { 'content-type': 'application/json', 'x-delivery-id': `src_git:refs/tags/v1:${'a'.repeat(40)}` },
    };
    const bare = signBody(SECRET, raw).slice('sha256='.length);
    expect((await admitDelivery({ ...base, headers: { ...base.headers, 'x-signature-256': bare } }, fake.ports)).status).toBe(401);
    const reply = await admitDelivery({ ...base, headers: { ...base.headers, 'x-signature-256': signBody(SECRET, raw) } }, fake.ports);
    expect(reply.status).toBe(202);
    expect(fake.committed[0]).toMatchObject({ eventType: 'tag', deliveryId: `src_git:refs/tags/v1:${'a'.repeat(40)}` });
  });

  it('bearer and none verification for generic sources', async () => {
    const bearer: WebhookSource = { ...genericSource, id: 'src_b', verification: 'bearer_token', allowedEvents: [], rateLimitPerMinute: 0 };
    const open: WebhookSource = { ...bearer, id: 'src_n', verification: 'none' };
    const fake = fakePorts([bearer, open]);
    const request = (sourceId: string, headers: Record<string, string>): IntakeRequest => ({
      route: 'generic', orgId: 'org1', sourceId, rawBody: Buffer.from('{}'), headers,
    });
    expect((await admitDelivery(request('src_b', { authorization: `Bearer ${SECRET}` }), fake.ports)).status).toBe(202);
    expect((await admitDelivery(request('src_b', { authorization: 'Bearer nope' }), fake.ports)).status).toBe(401);
    expect((await admitDelivery(request('src_n', {}), fake.ports)).status).toBe(202);
  });

  it('500 misconfigured when a verifying source has no secret', async () => {
    const fake = fakePorts();
    fake.ports.sourceSecret = () => null;
    const reply = await admitDelivery(genericRequest('{}'), fake.ports);
    expect(reply).toMatchObject({ status: 500, body: { error: { code: 'source_misconfigured' } } });
  });

  it('adjacent checks keep their order: 429 before 413, 413 before 400, 400 before duplicate, duplicate before filtered', async () => {
    // Every authenticated delivery counts against the limit, whatever its answer: four fit.
    const fake = fakePorts([{ ...genericSource, rateLimitPerMinute: 4 }]);
    await admitDelivery(genericRequest('{}', { 'x-delivery-id': 'seen', 'x-event-type': 'ping' }), fake.ports);
    // Over the source's payload limit and unparseable, with a seen id: the payload limit answers first.
    const oversized = `{"pad":"${'x'.repeat(100)}"`;
    expect((await admitDelivery(genericRequest(oversized, { 'x-delivery-id': 'seen' }), fake.ports)).status).toBe(413);
    // Unparseable with a seen id: 400 before the dedup lookup.
    expect((await admitDelivery(genericRequest('{"a":', { 'x-delivery-id': 'seen' }), fake.ports)).status).toBe(400);
    // The seen id was a filtered event; the same id again is a duplicate, not filtered.
    const dup = await admitDelivery(genericRequest('{}', { 'x-delivery-id': 'seen', 'x-event-type': 'ping' }), fake.ports);
    expect(dup.body).toEqual({ deliveryId: 'src_gen:seen', status: 'duplicate', firstStatus: 'filtered' });
    // The window is now used up: even an oversized body gets 429 first.
    expect((await admitDelivery(genericRequest(oversized), fake.ports)).status).toBe(429);
  });
});
