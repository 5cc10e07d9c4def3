/**
 * Who is turned away at the peer port, with which close code, and how it is counted: another
 * cluster's certificate, no certificate, a revoked serial, a hello that disagrees with its
 * certificate; past the failure limit only 4108; and a revocation cuts a live link at once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FailedAuthLimit } from '../../../src/auth-guard/index.js';
import type { ClusterCa, NodeCredentials } from '../../../src/certificates/index.js';
import { systemClock } from '../../../src/clock/index.js';
import { PeerCloseCode, type PeerRefusedEvent } from '../../../src/transport/index.js';
import {
  allUp,
  cluster,
  credentials,
  helloOf,
  nextEvent,
  rawPeer,
  rawReceived,
  rawTls,
  startNode,
  type TestNode,
} from './peer-links-fixture.js';

let alpha: ClusterCa;
let beta: ClusterCa;
let nodeB: NodeCredentials;
let stranger: NodeCredentials;
beforeAll(async () => {
  [alpha, beta] = await Promise.all([cluster('alpha'), cluster('beta')]);
  [nodeB, stranger] = await Promise.all([credentials(alpha, 'node-b', 'worker'), credentials(beta, 'node-b', 'worker')]);
});

function refusals(node: TestNode): PeerRefusedEvent[] {
  const seen: PeerRefusedEvent[] = [];
  node.links.on('refused', (e) => seen.push(e));
  return seen;
}

const warnings = (node: TestNode) => node.logs.filter((l) => l.level === 'warn' && l.msg === 'peer refused');

describe('peer port refusals', () => {
  it('refuses a certificate another cluster signed, and counts it', async () => {
    const a = await startNode(alpha, 'node-a');
    const refused = nextEvent(a.links, 'refused');
    // The stranger trusts alpha's CA, so only the server's check of the client certificate stops it.
    const peer = rawPeer(a.port, { ...rawTls(stranger), ca: alpha.certificatePem });
    const closed = await peer.closed;
    expect(closed.code).toBe(1006);
    expect(closed.error).toBeDefined();
    expect(await refused).toMatchObject({ direction: 'inbound', address: '127.0.0.1', reason: 'tls', limited: false });
    expect((await refused).code).toBeUndefined();
    expect(warnings(a)).toHaveLength(1);
  });

  it('refuses a client with no certificate at the upgrade (401), and counts it', async () => {
    const a = await startNode(alpha, 'node-a');
    const refused = nextEvent(a.links, 'refused');
    const peer = rawPeer(a.port, { ca: alpha.certificatePem });
    const closed = await peer.closed;
    // TLS lets a client without a certificate through (a joiner has none); /ws/peer does not.
    expect(closed.error?.message).toMatch(/401/);
    expect(await refused).toMatchObject({ direction: 'inbound', address: '127.0.0.1', reason: 'no-certificate', limited: false });
  });

  it('refuses a revoked certificate with 4103 and names the node in one warn line', async () => {
    const a = await startNode(alpha, 'node-a', { revokedSerials: () => [nodeB.identity.serial.toUpperCase()] });
    const refused = nextEvent(a.links, 'refused');
    const peer = rawPeer(a.port, rawTls(nodeB));
    expect(await peer.closed).toMatchObject({ code: PeerCloseCode.revoked, reason: expect.stringContaining('revoked') });
    expect(await refused).toMatchObject({ reason: 'revoked', code: 4103, nodeId: 'node-b' });
    const lines = warnings(a);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields).toMatchObject({ address: '127.0.0.1', peer: 'node-b', reason: 'revoked', code: 4103, limited: false });
    expect(JSON.stringify(lines)).not.toMatch(/PRIVATE KEY|BEGIN/);
  });

  it('refuses a hello that disagrees with the certificate (4104) or names another cluster (4101)', async () => {
    const a = await startNode(alpha, 'node-a');
    const liar = rawPeer(a.port, rawTls(nodeB));
    await liar.opened;
    liar.ws.send(helloOf(nodeB, { nodeId: 'node-c' }));
    expect(await liar.closed).toMatchObject({ code: PeerCloseCode.helloMismatch, reason: expect.stringContaining('node-c') });

    const promoted = rawPeer(a.port, rawTls(nodeB));
    await promoted.opened;
    promoted.ws.send(helloOf(nodeB, { role: 'coordinator' }));
    expect((await promoted.closed).code).toBe(PeerCloseCode.helloMismatch);

    const elsewhere = rawPeer(a.port, rawTls(nodeB));
    await elsewhere.opened;
    elsewhere.ws.send(helloOf(nodeB, { clusterId: 'beta' }));
    expect(await elsewhere.closed).toMatchObject({ code: PeerCloseCode.wrongCluster, reason: expect.stringContaining('beta') });

    const future = rawPeer(a.port, rawTls(nodeB));
    await future.opened;
    future.ws.send(helloOf(nodeB, { protocolVersion: 99 }));
    expect((await future.closed).code).toBe(PeerCloseCode.unsupportedVersion);
    // The listener never said a word to any of them: its hello comes only after it accepts the dialler's.
    expect([liar, promoted, elsewhere, future].map((p) => p.received)).toEqual([[], [], [], []]);
    expect(warnings(a).map((l) => l.fields.reason)).toEqual(['hello-mismatch', 'hello-mismatch', 'wrong-cluster', 'unsupported-version']);
  });

  it('closes with 4106 when no hello comes in time, and counts it', async () => {
    const a = await startNode(alpha, 'node-a', { helloTimeoutMs: 50 });
    const refused = nextEvent(a.links, 'refused');
    const silent = rawPeer(a.port, rawTls(nodeB));
    expect((await silent.closed).code).toBe(PeerCloseCode.helloTimeout);
    expect(await refused).toMatchObject({ reason: 'hello-timeout', nodeId: 'node-b' });
  });

  it('past the failure limit an address hears only 4108, while a valid peer from it still gets in', async () => {
    const authFailures = new FailedAuthLimit(systemClock, { maxFailures: 2 });
    const a = await startNode(alpha, 'node-a', { authFailures });
    const seen = refusals(a);
    for (const expected of [PeerCloseCode.helloMismatch, PeerCloseCode.helloMismatch, PeerCloseCode.tooManyFailures, PeerCloseCode.tooManyFailures]) {
      const liar = rawPeer(a.port, rawTls(nodeB));
      await liar.opened;
      liar.ws.send(helloOf(nodeB, { nodeId: 'node-z' }));
      const closed = await liar.closed;
      expect(closed.code).toBe(expected);
      if (expected === PeerCloseCode.tooManyFailures) expect(closed.reason).toBe('too many failed authentications');
    }
    expect(seen.map((e) => e.limited)).toEqual([false, false, true, true]);
    // TLS-level refusals count against the same address.
    const fifth = nextEvent(a.links, 'refused');
    await rawPeer(a.port, { ca: alpha.certificatePem }).closed;
    expect(await fifth).toMatchObject({ reason: 'no-certificate', limited: true });
    // Only failures are refused: a peer with a good certificate and an honest hello is let in.
    const honest = rawPeer(a.port, rawTls(nodeB));
    await honest.opened;
    honest.ws.send(helloOf(nodeB));
    expect(await rawReceived(honest, (f) => (f as { type?: string }).type === 'hello')).toMatchObject({ type: 'hello', nodeId: 'node-a', clusterId: 'alpha', role: 'coordinator' });
    expect(a.links.isUp('node-b')).toBe(true);
    honest.ws.close();
  });

  it('a dialler refuses a server whose certificate names another node than the one it dialled', async () => {
    const a = await startNode(alpha, 'node-a');
    const b = await startNode(alpha, 'node-b');
    const refused = nextEvent(a.links, 'refused');
    a.links.addPeer('node-c', b.address);
    expect(await refused).toMatchObject({ direction: 'outbound', nodeId: 'node-c', reason: 'wrong-peer', message: 'the server is node node-b, not node-c' });
    expect(a.links.isUp('node-c')).toBe(false);
  });

  it('a revocation cuts a live link at once, and the revoked node is refused when it dials again', async () => {
    const revoked = new Set<string>();
    const a = await startNode(alpha, 'node-a', { revokedSerials: () => revoked });
    const b = await startNode(alpha, 'node-b');
    b.links.addPeer('node-a', a.address);
    await allUp(a.links, ['node-b']);
    expect(a.links.revocationsChanged()).toEqual([]);
    const downAtA = nextEvent(a.links, 'peerDown');
    const downAtB = nextEvent(b.links, 'peerDown');
    const refusedAgain = nextEvent(a.links, 'refused');
    revoked.add(b.credentials.identity.serial);
    expect(a.links.revocationsChanged()).toEqual(['node-b']);
    expect(a.links.isUp('node-b')).toBe(false);
    expect(await downAtA).toMatchObject({ nodeId: 'node-b', code: PeerCloseCode.revoked });
    expect(await downAtB).toMatchObject({ nodeId: 'node-a', code: PeerCloseCode.revoked });
    // b's dialler tries again; a judges it at the handshake and refuses it.
    expect(await refusedAgain).toMatchObject({ reason: 'revoked', nodeId: 'node-b', code: PeerCloseCode.revoked });
  });

  it('cutPeer closes a live link at once with 4109', async () => {
    const a = await startNode(alpha, 'node-a');
    const b = await startNode(alpha, 'node-b');
    a.links.addPeer('node-b', b.address);
    await allUp(b.links, ['node-a']);
    const down = nextEvent(b.links, 'peerDown');
    expect(a.links.cutPeer('node-b')).toBe(true);
    expect(await down).toMatchObject({ nodeId: 'node-a', code: PeerCloseCode.cut });
    // a still knows b and dials it again.
    await allUp(a.links, ['node-b']);
  });
});
