import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { OrchestratorRig, sample, waitFor, type Frame, type GitOrigin } from './orchestrator-rig.js';

/**
 * The one content-type rule of every webhook route, over real HTTP: JSON (`application/json`, a
 * `+json` type, or no content type) is read as JSON; anything else is a 415 that records nothing;
 * a body that does not parse as its type is a 400. Bodies go as bytes so fetch adds no
 * content type of its own (a string body would be sent as text/plain).
 */
describe('webhook content types, over real sockets', () => {
  let rig: OrchestratorRig;
  let git: GitOrigin;
  let generic: { id: string; secret: string };

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
    git = await rig.gitSource();
    const secret = 'generic-secret-for-content-types';
    const created = await rig.api('POST', '/sources', { kind: 'generic', orgId: 'acme', name: 'typed', verification: 'hmac_sha256', secret });
    generic = { id: created.id as string, secret };
  });
  afterAll(() => rig?.close());

  const bytes = (text: string) => new TextEncoder().encode(text);

  function postGeneric(body: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${rig.url}/webhook/acme/generic/${generic.id}`, {
      method: 'POST',
      body: bytes(body),
      headers: { 'x-signature-256': signBody(generic.secret, body), ...headers },
    });
  }

  function pushGit(deliveryId: string, headers: Record<string, string>): Promise<Response> {
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: git.sha, repository: { name: 'repo', url: 'file:///repo' } });
    return fetch(`${rig.url}/webhook/acme/git/${git.id}`, {
      method: 'POST',
      body: bytes(body),
      headers: { 'x-delivery-id': deliveryId, 'x-signature-256': signBody(git.secret, body), ...headers },
    });
  }

  const deliveriesOf = async (sourceId: string) => (await rig.api('GET', `/event-log?sourceId=${sourceId}`)).deliveries as Frame[];

  it('answers a signed git push sent as text/plain 415 naming the accepted types, and records nothing', async () => {
    const res = await pushGit('typed-push', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('application/json');
    // The row commits before any 2xx reply, so a 415 that recorded something would show already.
    expect(await deliveriesOf(git.id)).toEqual([]);
    expect(sample(await rig.metrics(), 'kici_webhooks_received_total', 'source="git",event="push"')).toBe(0);
    expect((await rig.api('GET', '/runs')).runs).toEqual([]);

    // The same delivery id sent as JSON is new (no dedup key was kept) and is processed into a run.
    const again = await pushGit('typed-push', { 'content-type': 'application/json' });
    expect(again.status).toBe(202);
    const processed = await waitFor('the JSON push to be processed', async () => {
      const rows = await deliveriesOf(git.id);
      return rows.length === 1 && rows[0].status !== 'received' ? rows[0] : undefined;
    });
    expect(processed).toMatchObject({ status: 'processed', matchedCount: 1 });
  });

  it('answers text/plain and a form body on the generic route 415, and records nothing', async () => {
    const plain = await postGeneric('{"a":1}', { 'content-type': 'text/plain', 'x-delivery-id': 'plain' });
    expect(plain.status).toBe(415);
    const form = await postGeneric('{nope', { 'content-type': 'application/x-www-form-urlencoded', 'x-delivery-id': 'form' });
    expect(form.status).toBe(415);
    expect(((await form.json()) as Frame).error).toMatchObject({ code: 'unsupported_media_type' });
    expect(await deliveriesOf(generic.id)).toEqual([]);
  });

  it('answers a body declared JSON that does not parse 400', async () => {
    const res = await postGeneric('{nope', { 'content-type': 'application/json', 'x-delivery-id': 'nope' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Frame).error).toMatchObject({ code: 'bad_request' });
    expect((await deliveriesOf(generic.id)).map((d) => d.id)).not.toContain(`${generic.id}:nope`);
  });

  it('accepts a +json media type and a body with no content type at all', async () => {
    const vendor = await postGeneric('{"kind":"vendor"}', { 'content-type': 'application/vnd.foo+json; charset=utf-8', 'x-delivery-id': 'vendor' });
    expect(vendor.status).toBe(202);
    const bare = await postGeneric('{"kind":"bare"}', { 'x-delivery-id': 'bare' });
    expect(bare.status).toBe(202);
    const ids = (await deliveriesOf(generic.id)).map((d) => d.id);
    expect(ids).toEqual(expect.arrayContaining([`${generic.id}:vendor`, `${generic.id}:bare`]));
  });

  it('answers the GitHub route 404 whatever it is sent, since there are no GitHub sources yet', async () => {
    const body = '{"zen":"hi"}';
    const targets: Record<string, string>[] = [{}, { 'x-github-hook-installation-target-id': git.id }, { 'x-github-hook-installation-target-id': generic.id }];
    for (const headers of targets) {
      const res = await fetch(`${rig.url}/webhook/acme/github`, {
        method: 'POST',
        body: bytes(body),
        headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-hub-signature-256': signBody(git.secret, body), ...headers },
      });
      expect(res.status).toBe(404);
    }
  });

  it('answers a body with no content type that is not JSON 400', async () => {
    const res = await postGeneric('plain words', { 'x-delivery-id': 'words' });
    expect(res.status).toBe(400);
  });
});
