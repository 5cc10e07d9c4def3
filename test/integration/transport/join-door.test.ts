/**
 * Joining over real TLS on loopback: PeerLinks with a join door on the peer port, and the joiner's
 * requestJoin. The joiner checks the CA the member shows against its token before the token leaves;
 * refusals are final; a not-leader answer is followed; a node without a door answers 404; refused
 * joins count against the joiner's address.
 */
import https from 'node:https';
import { beforeAll, describe, expect, it } from 'vitest';
import { FailedAuthLimit } from '../../../src/auth-guard/index.js';
import {
  type ClusterCa,
  type ClusterCaCertificate,
  createJoinToken,
  createNodeRequest,
  type JoinToken,
  parseJoinToken,
} from '../../../src/certificates/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  JOIN_CA_PATH,
  JOIN_PATH,
  type JoinAccepted,
  type JoinDoor,
  JoinFailedError,
  type PeerRefusedEvent,
  requestJoin,
} from '../../../src/transport/index.js';
import { cluster, startNode, type TestNode } from './peer-links-fixture.js';

let alpha: ClusterCa;
let beta: ClusterCa;
let csr: string;
beforeAll(async () => {
  [alpha, beta] = await Promise.all([cluster('alpha'), cluster('beta')]);
  csr = (await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-j', role: 'coordinator' })).requestPem;
});

function tokenFor(ca: ClusterCaCertificate): { token: JoinToken; tokenText: string } {
  const issued = createJoinToken({ caFingerprint: ca.fingerprint, role: 'coordinator', expiresAt: new Date(Date.now() + 3_600_000) });
  return { token: parseJoinToken(issued.token), tokenText: issued.token };
}

function accepted(by: TestNode, raftId: number): JoinAccepted {
  return {
    clusterId: 'alpha',
    nodeId: 'node-j',
    raftId,
    certificate: `certificate from ${by.id}`,
    caCertificate: alpha.certificatePem,
    members: [
      { node: by.id, raftId: 1, address: by.address, role: 'coordinator', standing: 'voter' },
      { node: 'node-j', raftId, address: '127.0.0.1:4999', role: 'coordinator', standing: 'learner' },
    ],
  };
}

/** A join door whose answer the test sets, recording every request it is asked to decide. */
interface Door extends JoinDoor {
  calls: { body: unknown; address: string }[];
  answer: { status: number; body: unknown };
}

function door(caCertificatePem: string, answer: { status: number; body: unknown } = { status: 503, body: {} }): Door {
  const d: Door = {
    caCertificatePem,
    calls: [],
    answer,
    admit: async (body, address) => {
      d.calls.push({ body, address });
      return d.answer;
    },
  };
  return d;
}

interface Attempt {
  asked: ClusterCaCertificate[];
  retries: { peer: string; why: string }[];
}

function join(peers: string[], token: { token: JoinToken; tokenText: string }, deadlineMs = 0): { result: Promise<JoinAccepted>; attempt: Attempt } {
  const attempt: Attempt = { asked: [], retries: [] };
  const result = requestJoin({
    peers,
    ...token,
    deadlineMs,
    request: async (ca) => {
      attempt.asked.push(ca);
      return { nodeId: 'node-j', role: 'coordinator', address: '127.0.0.1:4999', csr };
    },
    onRetry: (peer, why) => attempt.retries.push({ peer, why }),
  });
  return { result, attempt };
}

async function joinError(p: Promise<unknown>): Promise<JoinFailedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JoinFailedError);
    return e as JoinFailedError;
  }
  throw new Error('expected the join to fail');
}

/** One HTTPS exchange with the peer port, as a client without a certificate. */
function raw(port: number, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), type: response.headers['content-type'] }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const joinBody = (token: string): string => JSON.stringify({ token, nodeId: 'node-j', role: 'coordinator', address: '127.0.0.1:4999', csr });

describe('the join door', () => {
  it('shows the CA, and admits a joiner whose token names that CA', async () => {
    const joinDoor = door(alpha.certificatePem);
    const a = await startNode(alpha, 'node-a', { join: joinDoor });
    joinDoor.answer = { status: 200, body: accepted(a, 4) };

    const shown = await raw(a.port, 'GET', JOIN_CA_PATH);
    expect(shown.status).toBe(200);
    expect(shown.text).toBe(alpha.certificatePem);

    const token = tokenFor(alpha);
    const { result, attempt } = join([a.address], token);
    await expect(result).resolves.toEqual(accepted(a, 4));
    // The request was made for the CA the token names, and the token travelled with it.
    expect(attempt.asked).toHaveLength(1);
    expect(attempt.asked[0]).toMatchObject({ clusterId: 'alpha', fingerprint: alpha.fingerprint });
    expect(joinDoor.calls).toHaveLength(1);
    expect(joinDoor.calls[0]!.body).toEqual({ token: token.tokenText, nodeId: 'node-j', role: 'coordinator', address: '127.0.0.1:4999', csr });
    expect(joinDoor.calls[0]!.address).toBe('127.0.0.1');
    expect(attempt.retries).toEqual([]);
  });

  it('never sends the token to a member of another cluster', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 200, body: {} });
    const a = await startNode(alpha, 'node-a', { join: joinDoor });
    const { result, attempt } = join([a.address], tokenFor(beta), 5_000);
    const error = await joinError(result);
    expect(error.kind).toBe('wrong-cluster');
    expect(error.message).toContain(a.address);
    expect(joinDoor.calls).toEqual([]);
    expect(attempt.asked).toEqual([]);
  });

  it('never sends the token to a node that shows the right CA but cannot prove it belongs to it', async () => {
    // A node of cluster beta that shows alpha's CA certificate (anyone can copy a certificate).
    const impostorDoor = door(alpha.certificatePem, { status: 200, body: {} });
    const impostor = await startNode(beta, 'node-x', { join: impostorDoor });
    const { result, attempt } = join([impostor.address], tokenFor(alpha));
    const error = await joinError(result);
    expect(error.kind).toBe('unreachable');
    expect(impostorDoor.calls).toEqual([]);
    expect(attempt.retries).toHaveLength(1);
    expect(attempt.retries[0]!.peer).toBe(impostor.address);
    // Refused by TLS (the server's certificate does not chain to alpha), not by an answer.
    expect(attempt.retries[0]!.why).toMatch(/CERT|certificate/i);
  });

  it('a refused token is final: JoinFailedError kind refused, asked once', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 403, body: { error: 'token_refused', message: 'the token is unknown, used or expired' } });
    const a = await startNode(alpha, 'node-a', { join: joinDoor });
    const { result } = join([a.address], tokenFor(alpha), 30_000);
    const error = await joinError(result);
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('the token is unknown, used or expired');
    expect(joinDoor.calls).toHaveLength(1);
  });

  it('follows a not-leader answer to the node it names', async () => {
    const bDoor = door(alpha.certificatePem);
    const b = await startNode(alpha, 'node-b', { join: bDoor });
    bDoor.answer = { status: 200, body: accepted(b, 7) };
    const aDoor = door(alpha.certificatePem, { status: 409, body: { error: 'not_leader', message: 'node-b coordinates joins', leader: b.address } });
    const a = await startNode(alpha, 'node-a', { join: aDoor });

    const { result, attempt } = join([a.address], tokenFor(alpha));
    const answer = await result;
    expect(answer.raftId).toBe(7);
    expect(answer.certificate).toBe('certificate from node-b');
    expect(aDoor.calls).toHaveLength(1);
    expect(bDoor.calls).toHaveLength(1);
    expect(attempt.retries).toEqual([{ peer: a.address, why: 'node-b coordinates joins' }]);
    // Each member's CA was checked before the token went to it.
    expect(attempt.asked.map((c) => c.fingerprint)).toEqual([alpha.fingerprint, alpha.fingerprint]);
  });

  it('a not-leader answer without a leader is retried, not followed, until the deadline', async () => {
    const aDoor = door(alpha.certificatePem, { status: 409, body: { error: 'not_leader', message: 'electing' } });
    const a = await startNode(alpha, 'node-a', { join: aDoor });
    const { result, attempt } = join([a.address], tokenFor(alpha));
    expect((await joinError(result)).kind).toBe('unreachable');
    expect(aDoor.calls).toHaveLength(1);
    expect(attempt.retries).toEqual([{ peer: a.address, why: 'electing' }]);
  });
});

describe('a peer port without a join door', () => {
  it('answers 404 to the join paths', async () => {
    const a = await startNode(alpha, 'node-a');
    const ca = await raw(a.port, 'GET', JOIN_CA_PATH);
    expect(ca.status).toBe(404);
    expect(ca.text).not.toContain('BEGIN CERTIFICATE');
    expect((await raw(a.port, 'POST', JOIN_PATH, joinBody(tokenFor(alpha).tokenText))).status).toBe(404);
  });

  it('is not a node a joiner can join through', async () => {
    const a = await startNode(alpha, 'node-a');
    const { result, attempt } = join([a.address], tokenFor(alpha));
    expect((await joinError(result)).kind).toBe('unreachable');
    expect(attempt.asked).toEqual([]);
    expect(attempt.retries).toHaveLength(1);
    expect(attempt.retries[0]!.why).toContain('404');
  });

  it('a node with a door still answers 404 elsewhere', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 200, body: {} });
    const a = await startNode(alpha, 'node-a', { join: joinDoor });
    expect((await raw(a.port, 'GET', '/cluster/other')).status).toBe(404);
    expect((await raw(a.port, 'GET', JOIN_PATH)).status).toBe(404);
    expect((await raw(a.port, 'POST', JOIN_CA_PATH, '{}')).status).toBe(404);
    expect(joinDoor.calls).toEqual([]);
  });
});

describe('refused joins count against the address', () => {
  function refusals(node: TestNode): PeerRefusedEvent[] {
    const seen: PeerRefusedEvent[] = [];
    node.links.on('refused', (e) => seen.push(e));
    return seen;
  }

  it('past the limit the door answers 429 too_many_failures', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 403, body: { error: 'token_refused', message: 'no such token' } });
    const a = await startNode(alpha, 'node-a', { join: joinDoor, authFailures: new FailedAuthLimit(new ManualClock(), { maxFailures: 2 }) });
    const seen = refusals(a);
    const body = joinBody(tokenFor(alpha).tokenText);

    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await raw(a.port, 'POST', JOIN_PATH, body));
    expect(answers.map((r) => r.status)).toEqual([403, 403, 429, 429]);
    expect(JSON.parse(answers[1]!.text)).toEqual({ error: 'token_refused', message: 'no such token' });
    expect(JSON.parse(answers[2]!.text)).toMatchObject({ error: 'too_many_failures' });
    expect(answers[2]!.type).toMatch(/application\/json/);
    expect(seen.map((e) => [e.reason, e.limited])).toEqual([
      ['join-refused', false],
      ['join-refused', false],
      ['join-refused', true],
      ['join-refused', true],
    ]);
    expect(seen[0]).toMatchObject({ direction: 'inbound', address: '127.0.0.1' });
    expect(seen[0]!.message).toContain('token_refused');

    // The joiner sees it as final.
    const { result } = join([a.address], tokenFor(alpha), 30_000);
    const error = await joinError(result);
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('too many failed authentications');
  });

  it('counts invalid requests (400) too, but not answers that are no refusal', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 409, body: { error: 'not_leader', message: 'ask another' } });
    const a = await startNode(alpha, 'node-a', { join: joinDoor, authFailures: new FailedAuthLimit(new ManualClock(), { maxFailures: 1 }) });
    const seen = refusals(a);
    const body = joinBody(tokenFor(alpha).tokenText);
    for (let i = 0; i < 3; i++) expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(409);
    joinDoor.answer = { status: 503, body: { error: 'unavailable', message: 'later' } };
    for (let i = 0; i < 3; i++) expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(503);
    expect(seen).toEqual([]);

    joinDoor.answer = { status: 400, body: { error: 'invalid_request', message: 'no csr' } };
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(400);
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(429);
    expect(seen.map((e) => e.limited)).toEqual([false, true]);
  });

  it('a limited address is refused before the door is asked, until its window passes', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 403, body: { error: 'token_refused', message: 'no' } });
    const clock = new ManualClock();
    const a = await startNode(alpha, 'node-a', { join: joinDoor, authFailures: new FailedAuthLimit(clock, { maxFailures: 1, windowMs: 60_000 }) });
    const body = joinBody(tokenFor(alpha).tokenText);
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(403);
    expect(joinDoor.calls).toHaveLength(1);
    // Limited: refused at once, the door (its database reads, its token spend) never asked.
    joinDoor.answer = { status: 200, body: accepted(a, 4) };
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(429);
    expect(joinDoor.calls).toHaveLength(1);
    clock.advance(120_000);
    await expect(join([a.address], tokenFor(alpha)).result).resolves.toMatchObject({ raftId: 4 });
  });

  it('a join body that is not JSON is refused before the door is asked', async () => {
    const joinDoor = door(alpha.certificatePem, { status: 200, body: {} });
    const a = await startNode(alpha, 'node-a', { join: joinDoor });
    const answer = await raw(a.port, 'POST', JOIN_PATH, '{not json');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ error: 'invalid_request' });
    expect(joinDoor.calls).toEqual([]);
  });

  it('each address is counted on its own door: a node shares no count with another', async () => {
    // Two nodes, each with its own limit: failures at one do not limit the joiner at the other.
    const refuse = { status: 403, body: { error: 'token_refused', message: 'no' } };
    const a = await startNode(alpha, 'node-a', { join: door(alpha.certificatePem, refuse), authFailures: new FailedAuthLimit(new ManualClock(), { maxFailures: 1 }) });
    const b = await startNode(alpha, 'node-b', { join: door(alpha.certificatePem, refuse), authFailures: new FailedAuthLimit(new ManualClock(), { maxFailures: 1 }) });
    const body = joinBody(tokenFor(alpha).tokenText);
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(403);
    expect((await raw(a.port, 'POST', JOIN_PATH, body)).status).toBe(429);
    expect((await raw(b.port, 'POST', JOIN_PATH, body)).status).toBe(403);
  });
});
