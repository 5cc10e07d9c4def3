/**
 * Peer addresses as they are configured (`host:port`, `[v6]:port`), and the settings of the
 * links checked before anything opens.
 */
import { describe, expect, it } from 'vitest';
import { createClusterCa, createNodeRequest, newCertificateSerial, nodeIdentity, readClusterCaCertificate, signNodeCertificate } from '../../../src/certificates/index.js';
import { DEFAULT_CLUSTER_PORT, formatPeerAddress, parsePeerAddress, PeerKinds, PeerLinks } from '../../../src/transport/index.js';

describe('peer addresses', () => {
  it('reads host:port and [ipv6]:port, and writes them back the same way', () => {
    for (const [text, address] of [
      ['10.0.0.7:4001', { host: '10.0.0.7', port: 4001 }],
      ['node-a.internal:4001', { host: 'node-a.internal', port: 4001 }],
      ['[::1]:4100', { host: '::1', port: 4100 }],
      ['[fd00::7]:1', { host: 'fd00::7', port: 1 }],
    ] as const) {
      expect(parsePeerAddress(text)).toEqual(address);
      expect(formatPeerAddress(address)).toBe(text);
    }
    expect(DEFAULT_CLUSTER_PORT).toBe(4001);
  });

  it('refuses anything else', () => {
    for (const text of ['10.0.0.7', '10.0.0.7:', ':4001', '::1:4001', '10.0.0.7:0', '10.0.0.7:65536', 'a b:1', 'wss://a:1']) {
      expect(() => parsePeerAddress(text), text).toThrow(/not host:port/);
    }
  });
});

describe('peer links settings', () => {
  it('refuses settings that cannot work, before opening anything', async () => {
    const now = new Date();
    const ca = await createClusterCa({ clusterId: 'alpha', now });
    const { privateKey, requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-a', role: 'coordinator' });
    const certificatePem = await signNodeCertificate({ ca, csrPem: requestPem, clusterId: 'alpha', nodeId: 'node-a', role: 'coordinator', serial: newCertificateSerial(), now });
    const credentials = { certificatePem, privateKey, ca: readClusterCaCertificate(ca.certificatePem), identity: nodeIdentity(certificatePem) };
    const kinds = new PeerKinds();
    expect(() => new PeerLinks({ credentials, kinds, maxQueuedBytes: 0 })).toThrow(/maxQueuedBytes/);
    expect(() => new PeerLinks({ credentials, kinds, initialReconnectDelayMs: 10_000, maxReconnectDelayMs: 5_000 })).toThrow(/initialReconnectDelayMs/);
    expect(() => new PeerLinks({ credentials, kinds, pingIntervalMs: 1_000, idleTimeoutMs: 500 })).toThrow(/idleTimeoutMs/);
    const links = new PeerLinks({ credentials, kinds });
    expect(() => links.addPeer('node-a', '127.0.0.1:4001')).toThrow(/is this node/);
    expect(() => links.addPeer('no/such', '127.0.0.1:4001')).toThrow(/not a node id/);
    await links.close();
  });
});
