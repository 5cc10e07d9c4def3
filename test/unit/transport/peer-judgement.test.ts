/**
 * Judging a peer beyond TLS: its certificate (revoked list, this cluster) and its hello (which
 * must agree with the certificate), each refusal with its close code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterCa,
  createClusterCa,
  createNodeRequest,
  newCertificateSerial,
  type NodeIdentity,
  nodeIdentity,
  type NodeRole,
  signNodeCertificate,
} from '../../../src/certificates/index.js';
import { type HelloFrame, judgeCertificate, judgeHello, PeerCloseCode } from '../../../src/transport/index.js';

const now = new Date('2030-01-01T00:00:00Z');
let alpha: ClusterCa;
let beta: ClusterCa;

async function issue(ca: ClusterCa, nodeId: string, role: NodeRole, validDays = 30): Promise<string> {
  const { requestPem } = await createNodeRequest({ clusterId: ca.clusterId, nodeId, role });
  return signNodeCertificate({ ca, csrPem: requestPem, clusterId: ca.clusterId, nodeId, role, serial: newCertificateSerial(), now, validDays });
}

beforeAll(async () => {
  [alpha, beta] = await Promise.all([createClusterCa({ clusterId: 'alpha', now }), createClusterCa({ clusterId: 'beta', now })]);
});

describe('judgeCertificate', () => {
  const context = (revokedSerials: string[] = [], at = now) => ({ caCertificatePem: alpha.certificatePem, now: at, revokedSerials });

  it('accepts a node certificate of this cluster and reads its identity', async () => {
    const pem = await issue(alpha, 'node-b', 'worker');
    expect(judgeCertificate(pem, context())).toMatchObject({ ok: true, identity: { clusterId: 'alpha', nodeId: 'node-b', role: 'worker' } });
  });

  it('refuses a revoked serial with 4103, whatever its case', async () => {
    const pem = await issue(alpha, 'node-b', 'worker');
    const serial = nodeIdentity(pem).serial;
    expect(judgeCertificate(pem, context([serial.toUpperCase()]))).toMatchObject({ ok: false, refusal: { reason: 'revoked', code: PeerCloseCode.revoked } });
  });

  it('refuses another cluster\'s certificate and an expired one with 4102', async () => {
    const stranger = await issue(beta, 'node-b', 'worker');
    expect(judgeCertificate(stranger, context())).toMatchObject({ ok: false, refusal: { reason: 'wrong-ca', code: PeerCloseCode.certificateRefused } });
    const pem = await issue(alpha, 'node-b', 'worker', 1);
    expect(judgeCertificate(pem, context([], new Date(now.getTime() + 3 * 86_400_000)))).toMatchObject({ ok: false, refusal: { reason: 'expired', code: PeerCloseCode.certificateRefused } });
    expect(judgeCertificate('not a certificate', context())).toMatchObject({ ok: false, refusal: { reason: 'unreadable' } });
  });
});

describe('judgeHello', () => {
  const certificate = { clusterId: 'alpha', nodeId: 'node-b', role: 'worker', serial: '1', notAfter: now } as NodeIdentity;
  const hello = (over: Partial<HelloFrame> = {}): HelloFrame => ({ type: 'hello', protocolVersion: 1, clusterId: 'alpha', nodeId: 'node-b', role: 'worker', ...over });
  const judge = (h: HelloFrame, selfNodeId = 'node-a') => judgeHello(h, { certificate, clusterId: 'alpha', selfNodeId });

  it('accepts a hello that agrees with its certificate', () => {
    expect(judge(hello())).toBeUndefined();
  });

  it('refuses each disagreement with its code', () => {
    expect(judge(hello({ protocolVersion: 2 }))).toMatchObject({ reason: 'unsupported-version', code: PeerCloseCode.unsupportedVersion });
    expect(judge(hello({ protocolVersion: 0 }))).toMatchObject({ reason: 'unsupported-version' });
    expect(judge(hello({ clusterId: 'beta' }))).toMatchObject({ reason: 'wrong-cluster', code: PeerCloseCode.wrongCluster });
    expect(judge(hello({ nodeId: 'node-c' }))).toMatchObject({ reason: 'hello-mismatch', code: PeerCloseCode.helloMismatch });
    expect(judge(hello({ role: 'coordinator' }))).toMatchObject({ reason: 'hello-mismatch', message: 'the hello names node-b (coordinator), the certificate node-b (worker)' });
    expect(judge(hello(), 'node-b')).toMatchObject({ reason: 'hello-mismatch', message: expect.stringContaining('does not link to itself') });
  });
});
