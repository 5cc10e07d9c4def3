/**
 * The certificates in a real TLS handshake (node:tls over loopback): the peer port's rules are
 * mutual TLS against the cluster CA, and each side reads who the other is from its certificate.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterCa, createClusterCa, type NodeIdentity, nodeIdentity, verifyNodeCertificate } from '../../../src/certificates/index.js';
import { type IssuedNode, issueNode } from './fixtures.js';

let ca: ClusterCa;
let otherCa: ClusterCa;
let coordinator: IssuedNode;
let worker: IssuedNode;
let stranger: IssuedNode;

beforeAll(async () => {
  const now = new Date(); // node:tls judges dates by the real clock
  ca = await createClusterCa({ clusterId: 'alpha', now });
  otherCa = await createClusterCa({ clusterId: 'beta', now });
  coordinator = await issueNode(ca, 'node-a', 'coordinator', { addresses: ['127.0.0.1'] });
  worker = await issueNode(ca, 'node-b', 'worker');
  stranger = await issueNode(otherCa, 'node-b', 'worker');
});

const servers: tls.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

interface PeerServer {
  port: number;
  /** Identities the server read from client certificates, in order of accepted connections. */
  seen: NodeIdentity[];
  /** Errors of handshakes the server refused. */
  refused: Error[];
  /** Why the server dropped peers whose handshake succeeded but whose certificate it then judged unfit. */
  turnedAway: string[];
}

/** The peer port as the transport will open it: only TLS, only clients with a certificate the cluster CA signed. */
async function peerServer(node: IssuedNode, revokedSerials: string[] = []): Promise<PeerServer> {
  const seen: NodeIdentity[] = [];
  const refused: Error[] = [];
  const turnedAway: string[] = [];
  const server = tls.createServer(
    {
      key: node.privateKey.toPem(),
      cert: node.certificatePem,
      ca: [ca.certificatePem],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      // TLS knows the CA but not the revoked list: the transport judges each peer once more.
      const verdict = verifyNodeCertificate(socket.getPeerCertificate(), ca.certificatePem, { now: new Date(), revokedSerials });
      if (!verdict.ok) {
        turnedAway.push(verdict.reason);
        socket.destroy();
        return;
      }
      seen.push(verdict.identity);
      socket.end(`hello ${seen.at(-1)!.nodeId}`);
    },
  );
  server.on('tlsClientError', (error) => refused.push(error));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, seen, refused, turnedAway };
}

/** Resolves when the socket closes, whatever error closed it (`events.once` would reject on 'error'). */
function closed(socket: tls.TLSSocket): Promise<void> {
  socket.on('error', () => {});
  return new Promise((resolve) => socket.on('close', () => resolve()));
}

interface Outcome {
  serverIdentity?: NodeIdentity;
  received: string;
  error?: Error;
}

/** Connect as `node`, checking the server by its kici URI (not its host name), and read until the server closes. */
async function connectAs(node: IssuedNode, port: number, trust: ClusterCa = ca): Promise<Outcome> {
  const outcome: Outcome = { received: '' };
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    key: node.privateKey.toPem(),
    cert: node.certificatePem,
    ca: [trust.certificatePem],
    minVersion: 'TLSv1.3',
    checkServerIdentity: (_host, certificate) => {
      const identity = nodeIdentity(certificate);
      return identity.clusterId === trust.clusterId ? undefined : new Error(`the server is in cluster ${identity.clusterId}`);
    },
  });
  socket.on('secureConnect', () => {
    outcome.serverIdentity = nodeIdentity(socket.getPeerCertificate());
  });
  socket.on('data', (chunk: Buffer) => {
    outcome.received += chunk.toString();
  });
  socket.on('error', (error) => {
    outcome.error = error;
  });
  await closed(socket);
  return outcome;
}

describe('mutual TLS with node certificates', () => {
  it('completes the handshake, and each side reads the other\'s node id and role', async () => {
    const server = await peerServer(coordinator);
    const outcome = await connectAs(worker, server.port);
    expect(outcome.error).toBeUndefined();
    expect(outcome.received).toBe('hello node-b');
    expect(outcome.serverIdentity).toMatchObject({ clusterId: 'alpha', nodeId: 'node-a', role: 'coordinator', serial: coordinator.serial });
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]).toMatchObject({ clusterId: 'alpha', nodeId: 'node-b', role: 'worker', serial: worker.serial });
    expect(server.refused).toEqual([]);
    expect(server.turnedAway).toEqual([]);
  });

  it('a peer whose certificate is revoked gets through TLS but is turned away by the revoked list', async () => {
    const server = await peerServer(coordinator, [worker.serial.toUpperCase()]);
    const outcome = await connectAs(worker, server.port);
    expect(outcome.received).toBe('');
    expect(server.seen).toEqual([]);
    expect(server.turnedAway).toEqual(['revoked']);
  });

  it('a plain TLS client can check the server by the address its certificate names', async () => {
    const server = await peerServer(coordinator);
    // No checkServerIdentity of our own: node's default checks 127.0.0.1 against the SAN IP.
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      key: worker.privateKey.toPem(),
      cert: worker.certificatePem,
      ca: [ca.certificatePem],
    });
    await once(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });

  it('refuses a client whose certificate another cluster\'s CA signed', async () => {
    const server = await peerServer(coordinator);
    // The stranger trusts our CA, so only the server's check of the client certificate can stop it.
    const outcome = await connectAs(stranger, server.port, ca);
    expect(outcome.received).toBe('');
    expect(server.seen).toEqual([]);
    // The server hangs up during the handshake, before any byte of the peer protocol.
    expect(server.refused.length).toBe(1);
  });

  it('refuses a client that presents no certificate', async () => {
    const server = await peerServer(coordinator);
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: [ca.certificatePem], minVersion: 'TLSv1.3' });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const error = new Promise<Error>((resolve) => socket.once('error', resolve));
    await closed(socket);
    expect((await error).message).toMatch(/certificate required/);
    expect(received).toBe('');
    expect(server.seen).toEqual([]);
    expect(server.refused.length).toBe(1);
  });

  it('a client that trusts only its own cluster refuses a server of another cluster', async () => {
    const server = await peerServer(coordinator);
    const outcome = await connectAs(stranger, server.port, otherCa);
    expect(outcome.error?.message).toMatch(/certificate|issuer/i);
    expect(outcome.serverIdentity).toBeUndefined();
    expect(outcome.received).toBe('');
  });
});
