/**
 * An edge worker forwards the webhooks it receives to a coordinator over real peer links (TLS on
 * loopback, certificates from a test CA): the coordinator's answer is the sender's answer, the body
 * arrives byte for byte, a coordinator that fails is skipped for the next, none reachable is a 503
 * with Retry-After, and a body too big for a peer frame is refused before anything is sent.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterCa } from '../../../src/certificates/index.js';
import { forwardWebhooks } from '../../../src/server/wiring/webhook-forward.js';
import { DEFAULT_MAX_FRAME_BYTES, registerWorkerLinkKinds, type ForwardedWebhookBody, type PeerIdentity, type WorkerLinkKinds } from '../../../src/transport/index.js';
import type { IntakeRequest } from '../../../src/webhooks/index.js';
import { allUp, cluster, startNode, type TestNode } from '../transport/peer-links-fixture.js';

let ca: ClusterCa;
beforeAll(async () => {
  ca = await cluster();
});

interface Received {
  from: PeerIdentity;
  body: ForwardedWebhookBody;
}

interface Coordinator {
  node: TestNode;
  kinds: WorkerLinkKinds;
  received: Received[];
}

/** A coordinator that answers forwarded webhooks with `answer` (or throws it). */
async function coordinator(id: string, answer: (r: Received) => { status: number; body: unknown; headers?: Record<string, string> }): Promise<Coordinator> {
  const node = await startNode(ca, id);
  const kinds = registerWorkerLinkKinds(node.kinds.registry);
  const received: Received[] = [];
  node.links.handle(kinds.webhook, (from, body) => {
    const r = { from, body };
    received.push(r);
    return answer(r);
  });
  return { node, kinds, received };
}

/** The worker, dialling each coordinator (it is never dialled itself), and its forwarder. */
async function worker(coordinators: Coordinator[], reachable: () => string[] = () => coordinators.map((c) => c.node.id)) {
  const node = await startNode(ca, 'worker-1', { role: 'worker' });
  const kinds = registerWorkerLinkKinds(node.kinds.registry);
  for (const c of coordinators) node.links.addPeer(c.node.id, c.node.address);
  await allUp(
    node.links,
    coordinators.map((c) => c.node.id),
  );
  const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
  const forward = forwardWebhooks({
    links: node.links,
    kinds,
    coordinators: reachable,
    log: { warn: ((fields: Record<string, unknown>, msg: string) => void warnings.push({ fields, msg })) as never },
  });
  return { node, forward: (r: IntakeRequest) => forward(r, () => '203.0.113.7'), warnings };
}

/** Every byte value, and sequences that are not UTF-8: a text round trip would change them. */
function binaryBody(): Buffer {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat([all, Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1]), all.reverse()]);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function request(rawBody: Buffer, headers: IntakeRequest['headers'] = {}): IntakeRequest {
  return { route: 'github', orgId: 'org-1', sourceId: 'src-1', headers, rawBody };
}

/** Answers with what it received, so the worker's side can compare. */
const echo =
  (by: string) =>
  ({ body }: Received) => ({
    status: 202,
    body: { by, bytes: Buffer.from(body.body, 'base64').length, sha256: sha(Buffer.from(body.body, 'base64')) },
    headers: { 'x-kici-delivery': `${by}-1` },
  });

describe('forwardWebhooks over peer links', () => {
  it("returns the coordinator's answer, the body's bytes and the headers intact", async () => {
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const w = await worker([c1]);
    const raw = binaryBody();
    const answer = await w.forward(
      request(raw, {
        'x-github-event': 'push',
        'x-hub-signature-256': 'sha256=abc123',
        'x-forwarded-for': ['198.51.100.1', '198.51.100.2'],
        'x-absent': undefined,
      }),
    );
    expect(answer).toEqual({ status: 202, body: { by: 'coord-1', bytes: raw.length, sha256: sha(raw) }, headers: { 'x-kici-delivery': 'coord-1-1' } });

    expect(c1.received).toHaveLength(1);
    const got = c1.received[0]!;
    expect(got.from).toMatchObject({ nodeId: 'worker-1', role: 'worker' });
    expect(Buffer.from(got.body.body, 'base64').equals(raw)).toBe(true);
    expect(got.body).toMatchObject({ route: 'github', orgId: 'org-1', sourceId: 'src-1' });
    // Defined headers only, arrays kept as arrays.
    expect(got.body.headers).toEqual({
      'x-github-event': 'push',
      'x-hub-signature-256': 'sha256=abc123',
      'x-forwarded-for': ['198.51.100.1', '198.51.100.2'],
    });
    expect(w.warnings).toEqual([]);
  });

  it('forwards an empty body and a request without a source id', async () => {
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const w = await worker([c1]);
    const answer = await w.forward({ route: 'git', orgId: 'org-2', headers: {}, rawBody: Buffer.alloc(0) });
    expect(answer.status).toBe(202);
    expect(c1.received[0]!.body).toEqual({ route: 'git', orgId: 'org-2', headers: {}, body: '' });
  });

  it('answers 503 with Retry-After and no_coordinator when no coordinator is reachable', async () => {
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const w = await worker([c1], () => []);
    const answer = await w.forward(request(Buffer.from('{"ref":"refs/heads/main"}')));
    expect(answer.status).toBe(503);
    expect(answer.headers).toEqual({ 'retry-after': '5' });
    expect(answer.body).toMatchObject({ error: { code: 'no_coordinator' } });
    expect(c1.received).toEqual([]);
  });

  it('refuses with 400, not 503, a delivery whose headers the peer link cannot carry (a sender would retry a 503 forever)', async () => {
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const w = await worker([c1]);
    const answer = await w.forward(request(Buffer.from('{}'), { 'set-cookie': Array.from({ length: 101 }, (_, i) => `c${i}=1`) }));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'invalid_request' } });
    expect(c1.received).toEqual([]);
  });

  it('answers 503 when every coordinator listed fails', async () => {
    const c1 = await coordinator('coord-1', () => {
      throw new Error('intake unavailable');
    });
    const w = await worker([c1]);
    const answer = await w.forward(request(Buffer.from('{}')));
    expect(answer).toMatchObject({ status: 503, headers: { 'retry-after': '5' }, body: { error: { code: 'no_coordinator' } } });
    expect(c1.received).toHaveLength(1);
    expect(w.warnings.map((x) => x.fields.coordinator)).toEqual(['coord-1']);
  });

  it("skips a coordinator whose handler throws, and the next one's answer is returned", async () => {
    const c1 = await coordinator('coord-1', () => {
      throw new Error('database is read-only');
    });
    const c2 = await coordinator('coord-2', echo('coord-2'));
    const w = await worker([c1, c2]);
    const raw = binaryBody();
    const answer = await w.forward(request(raw, { 'x-github-event': 'push' }));
    expect(answer).toMatchObject({ status: 202, body: { by: 'coord-2', sha256: sha(raw) } });
    expect(c1.received).toHaveLength(1);
    expect(c2.received).toHaveLength(1);
    expect(Buffer.from(c2.received[0]!.body.body, 'base64').equals(raw)).toBe(true);
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toMatchObject({ fields: { coordinator: 'coord-1', route: 'github' } });
    expect(String(w.warnings[0]!.fields.err)).toContain('database is read-only');
  });

  it('skips a listed coordinator the worker has no link to', async () => {
    const c2 = await coordinator('coord-2', echo('coord-2'));
    const w = await worker([c2], () => ['coord-gone', 'coord-2']);
    const answer = await w.forward(request(Buffer.from('{}')));
    expect(answer).toMatchObject({ status: 202, body: { by: 'coord-2' } });
    expect(w.warnings.map((x) => x.fields.coordinator)).toEqual(['coord-gone']);
  });

  it('spreads deliveries over the coordinators that answer', async () => {
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const c2 = await coordinator('coord-2', echo('coord-2'));
    const w = await worker([c1, c2]);
    const by: unknown[] = [];
    for (let i = 0; i < 4; i++) by.push(((await w.forward(request(Buffer.from(`{"n":${i}}`)))).body as { by: string }).by);
    expect(by).toEqual(['coord-1', 'coord-2', 'coord-1', 'coord-2']);
  });

  it('refuses a body over the forwarding limit with 413 before sending anything, and forwards one at the limit', async () => {
    const limit = Math.floor((DEFAULT_MAX_FRAME_BYTES - 256 * 1024) * 0.75);
    const c1 = await coordinator('coord-1', echo('coord-1'));
    const w = await worker([c1]);

    const over = await w.forward(request(Buffer.alloc(limit + 1, 0x61)));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(over.headers).toBeUndefined();
    expect(c1.received).toEqual([]);

    // The largest body forwarded fits a peer frame, base64 and headers included.
    const atLimit = Buffer.alloc(limit, 0x62);
    const headers = { 'x-github-event': 'push', 'user-agent': 'GitHub-Hookshot/abc', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` };
    const answer = await w.forward(request(atLimit, headers));
    expect(answer).toMatchObject({ status: 202, body: { bytes: limit, sha256: sha(atLimit) } });
    expect(w.warnings).toEqual([]);
  });
});
