/**
 * Node certificates from request to verdict: what the CA signs and refuses, the identity a
 * certificate names in every form it arrives in, and why a certificate is not accepted.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateFormatError,
  CLOCK_SKEW_ALLOWANCE_MS,
  type ClusterCa,
  createClusterCa,
  createNodeRequest,
  newCertificateSerial,
  nodeIdentity,
  NodeRequestRefusedError,
  NoNodeIdentityError,
  PrivateKeyError,
  readNodeRequest,
  signNodeCertificate,
  verifyNodeCertificate,
} from '../../../src/certificates/index.js';
import { DAY_MS, errorOf, type IssuedNode, issueNode, rejectionOf, scratchDirectory } from './fixtures.js';

const NOW = new Date();
let ca: ClusterCa;
let otherCa: ClusterCa;
let node: IssuedNode;

beforeAll(async () => {
  ca = await createClusterCa({ clusterId: 'alpha', now: NOW });
  otherCa = await createClusterCa({ clusterId: 'beta', now: NOW });
  node = await issueNode(ca, 'node-1', 'worker', { now: NOW });
});

/** Sign with openssl and the CA's key what this room would never sign, to see how it is judged. */
function opensslSigned(extensions: string, subject = '/CN=node-1'): string {
  const directory = scratchDirectory();
  const path = (name: string) => join(directory, name);
  writeFileSync(path('ca.pem'), ca.certificatePem);
  writeFileSync(path('ca.key'), ca.privateKey.toPem());
  writeFileSync(path('ext.cnf'), extensions);
  execFileSync('/usr/bin/openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path('node.key'), '-subj', subject, '-out', path('node.csr')], { stdio: 'ignore' });
  return execFileSync(
    '/usr/bin/openssl',
    ['x509', '-req', '-in', path('node.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-set_serial', '0x1234', '-days', '1', '-extfile', path('ext.cnf')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

/** A request made by openssl, for shapes `createNodeRequest` never produces. */
function opensslRequest(args: string[]): string {
  const directory = scratchDirectory();
  return execFileSync('/usr/bin/openssl', ['req', '-new', '-nodes', '-keyout', join(directory, 'key.pem'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('signNodeCertificate', () => {
  async function sign(requestPem: string, overrides: Partial<Parameters<typeof signNodeCertificate>[0]> = {}) {
    return signNodeCertificate({ ca, csrPem: requestPem, clusterId: 'alpha', nodeId: 'node-1', role: 'worker', serial: newCertificateSerial(), now: NOW, ...overrides });
  }

  it('certifies the requester\'s own key: the private key never travels', async () => {
    const { privateKey, requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker' });
    expect(requestPem).not.toContain('PRIVATE KEY');
    const certificatePem = await sign(requestPem);
    expect(privateKey.belongsTo(certificatePem)).toBe(true);
    expect(node.privateKey.belongsTo(certificatePem)).toBe(false);
  });

  it('refuses a request whose signature does not verify', async () => {
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker' });
    const der = Buffer.from(requestPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
    der[der.length - 1] ^= 0x01; // the last byte belongs to the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    const error = await rejectionOf(sign(tampered));
    expect(error).toBeInstanceOf(NodeRequestRefusedError);
    expect(error.message).toMatch(/signature does not verify/);
  });

  it('refuses a request whose names disagree with what the CA was asked to grant', async () => {
    const asked = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-2', role: 'coordinator', addresses: ['10.0.0.2'] });
    const error = await rejectionOf(sign(asked.requestPem));
    expect(error).toBeInstanceOf(NodeRequestRefusedError);
    expect(error.message).toBe('the request asks for node node-2, not node-1; role coordinator, not worker; addresses [ip:10.0.0.2], not []');
    const elsewhere = await createNodeRequest({ clusterId: 'beta', nodeId: 'node-1', role: 'worker' });
    expect((await rejectionOf(sign(elsewhere.requestPem))).message).toMatch(/cluster beta, not alpha/);
  });

  it('signs the addresses it was told to, when the request asks for exactly those', async () => {
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker', addresses: ['Node-1.Example', '::1'] });
    const certificatePem = await sign(requestPem, { addresses: ['0:0::1', 'node-1.example'] });
    expect(new NodeCertificate(certificatePem).subjectAltName).toBe('URI:kici://alpha/nodes/node-1?role=worker, IP Address:0:0:0:0:0:0:0:1, DNS:node-1.example');
  });

  it('refuses a request whose CN and kici URI name different nodes', async () => {
    const requestPem = opensslRequest(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=node-1', '-addext', 'subjectAltName=URI:kici://alpha/nodes/node-2?role=worker']);
    const error = await rejectionOf(sign(requestPem));
    expect(error).toBeInstanceOf(NodeRequestRefusedError);
    expect(error.message).toMatch(/CN does not match the node id node-2/);
  });

  it('refuses a request that names no kici node, or asks for other kinds of names', async () => {
    const plain = opensslRequest(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=node-1']);
    expect((await rejectionOf(sign(plain))).message).toMatch(/names no kici node/);
    const email = opensslRequest(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=node-1', '-addext', 'subjectAltName=URI:kici://alpha/nodes/node-1?role=worker,email:a@b.c']);
    expect((await rejectionOf(sign(email))).message).toMatch(/asks for a name of type email/);
  });

  it('refuses a key that is not ECDSA P-256', async () => {
    const rsa = opensslRequest(['-newkey', 'rsa:2048', '-subj', '/CN=node-1', '-addext', 'subjectAltName=URI:kici://alpha/nodes/node-1?role=worker']);
    const error = await rejectionOf(sign(rsa));
    expect(error).toBeInstanceOf(NodeRequestRefusedError);
    expect(error.message).toMatch(/not ECDSA P-256/);
  });

  it('refuses text that is not a request', async () => {
    expect(await rejectionOf(sign(node.certificatePem))).toBeInstanceOf(CertificateFormatError);
    expect(await rejectionOf(sign('hello'))).toBeInstanceOf(CertificateFormatError);
  });

  it('refuses a CA of another cluster, or a CA key that is not its certificate\'s', async () => {
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker' });
    expect((await rejectionOf(sign(requestPem, { ca: otherCa }))).message).toMatch(/the CA is cluster beta's, not alpha's/);
    const mismatched = await rejectionOf(sign(requestPem, { ca: { ...ca, privateKey: otherCa.privateKey } }));
    expect(mismatched).toBeInstanceOf(PrivateKeyError);
  });

  it('checks its parameters at the door, naming the field', async () => {
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker' });
    expect((await rejectionOf(sign(requestPem, { nodeId: 'node/1' }))).message).toBe('signNodeCertificate: nodeId: a node id is 1–64 letters, digits, dots, dashes or underscores');
    expect((await rejectionOf(sign(requestPem, { role: 'admin' as never }))).message).toBe('signNodeCertificate: role: a role is coordinator or worker');
    expect((await rejectionOf(sign(requestPem, { serial: '000' }))).message).toBe('signNodeCertificate: serial: a serial must not be zero');
    expect((await rejectionOf(sign(requestPem, { serial: 'f'.repeat(33) }))).message).toMatch(/serial: a serial is 1–32 hex digits/);
    expect((await rejectionOf(sign(requestPem, { validDays: 0 }))).message).toMatch(/validDays: at least one day/);
    expect((await rejectionOf(sign(requestPem, { addresses: ['not an address'] }))).message).toMatch(/addresses.0: an address is/);
    expect((await rejectionOf(sign(requestPem, { now: new Date(Number.NaN) }))).message).toMatch(/^signNodeCertificate: now:/);
  });

  it('never signs past the CA\'s own expiry', async () => {
    const shortCa = await createClusterCa({ clusterId: 'alpha', now: NOW, validDays: 10 });
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-1', role: 'worker' });
    const certificatePem = await sign(requestPem, { ca: shortCa, validDays: 365 });
    expect(nodeIdentity(certificatePem).notAfter).toEqual(shortCa.notAfter);
  });

  it('reads back what a request asks for', async () => {
    const { requestPem } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-5', role: 'coordinator', addresses: ['127.0.0.1'] });
    const request = await readNodeRequest(requestPem);
    expect(request).toMatchObject({ clusterId: 'alpha', nodeId: 'node-5', role: 'coordinator', addresses: [{ type: 'ip', value: '127.0.0.1' }] });
    expect(request.publicKeyDer.length).toBe(91); // P-256 SubjectPublicKeyInfo
  });
});

describe('nodeIdentity', () => {
  it('reads the same identity from PEM, DER, a node X509Certificate and a tls peer certificate', () => {
    const expected = { clusterId: 'alpha', nodeId: 'node-1', role: 'worker', serial: node.serial };
    const nodeCertificate = new NodeCertificate(node.certificatePem);
    expect(nodeIdentity(node.certificatePem)).toMatchObject(expected);
    expect(nodeIdentity(nodeCertificate.raw)).toMatchObject(expected);
    expect(nodeIdentity(nodeCertificate)).toMatchObject(expected);
    expect(nodeIdentity({ raw: nodeCertificate.raw })).toMatchObject(expected);
    expect(nodeIdentity(node.certificatePem).notAfter).toEqual(new Date(nodeCertificate.validTo));
  });

  it('says clearly when a certificate names no node', () => {
    const error = errorOf(() => nodeIdentity(ca.certificatePem));
    expect(error).toBeInstanceOf(NoNodeIdentityError);
    expect(error.message).toBe('the certificate names no kici node (it has no kici:// SAN URI)');
    const plain = opensslSigned('subjectAltName=DNS:node-1\n');
    expect(errorOf(() => nodeIdentity(plain))).toBeInstanceOf(NoNodeIdentityError);
    const twice = opensslSigned('subjectAltName=URI:kici://alpha/nodes/node-1?role=worker,URI:kici://alpha/nodes/node-1?role=coordinator\n');
    expect(errorOf(() => nodeIdentity(twice)).message).toMatch(/more than one kici node/);
    const badRole = opensslSigned('subjectAltName=URI:kici://alpha/nodes/node-1?role=admin\n');
    expect(errorOf(() => nodeIdentity(badRole)).message).toMatch(/not of the form/);
  });

  it('says clearly when it was given no certificate at all', () => {
    expect(errorOf(() => nodeIdentity({}))).toBeInstanceOf(CertificateFormatError); // getPeerCertificate() of a peer without one
    expect(errorOf(() => nodeIdentity('not pem'))).toBeInstanceOf(CertificateFormatError);
    expect(errorOf(() => nodeIdentity(node.certificatePem + ca.certificatePem)).message).toMatch(/exactly one CERTIFICATE/);
    expect(errorOf(() => nodeIdentity(Buffer.from('garbage')))).toBeInstanceOf(CertificateFormatError);
  });
});

describe('verifyNodeCertificate', () => {
  const verify = (certificate: Parameters<typeof verifyNodeCertificate>[0], now = NOW, revokedSerials: string[] = []) =>
    verifyNodeCertificate(certificate, ca.certificatePem, { now, revokedSerials });

  it('accepts a node certificate of this cluster and names the node', () => {
    expect(verify(node.certificatePem)).toEqual({ ok: true, identity: nodeIdentity(node.certificatePem) });
  });

  it('refuses a certificate another cluster\'s CA signed', async () => {
    const stranger = await issueNode(otherCa, 'node-1', 'worker', { now: NOW });
    expect(verify(stranger.certificatePem)).toMatchObject({ ok: false, reason: 'wrong-ca' });
  });

  it('refuses an expired certificate, and one not valid yet, allowing for clock skew', async () => {
    const old = await issueNode(ca, 'node-2', 'worker', { now: new Date(NOW.getTime() - 400 * DAY_MS), validDays: 30 });
    expect(verify(old.certificatePem)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verify(old.certificatePem, new Date(NOW.getTime() - 380 * DAY_MS)).ok).toBe(true);
    expect(verify(node.certificatePem, new Date(NOW.getTime() - CLOCK_SKEW_ALLOWANCE_MS - 1000))).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    expect(verify(node.certificatePem, new Date(NOW.getTime() - CLOCK_SKEW_ALLOWANCE_MS + 1000)).ok).toBe(true);
  });

  it('refuses a revoked serial, however the list spells it', () => {
    const verdict = verify(node.certificatePem, NOW, ['abc', `00${node.serial.toUpperCase()}`]);
    expect(verdict).toMatchObject({ ok: false, reason: 'revoked' });
    expect(verify(node.certificatePem, NOW, ['abc']).ok).toBe(true);
  });

  it('refuses what the CA signed that is not a node certificate', () => {
    expect(verify(ca.certificatePem)).toMatchObject({ ok: false, reason: 'not-a-node-certificate', message: 'the certificate is a CA' });
    const noEku = opensslSigned('basicConstraints=critical,CA:FALSE\nsubjectAltName=URI:kici://alpha/nodes/node-1?role=worker\n');
    expect(verify(noEku, new Date())).toMatchObject({ ok: false, reason: 'not-a-node-certificate' });
    const noUri = opensslSigned('basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:node-1\n');
    expect(verify(noUri, new Date())).toMatchObject({ ok: false, reason: 'not-a-node-certificate' });
    const elsewhere = opensslSigned('basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:kici://beta/nodes/node-1?role=worker\n');
    expect(verify(elsewhere, new Date())).toMatchObject({ ok: false, reason: 'not-a-node-certificate', message: 'the certificate names cluster beta, but the CA is cluster alpha\'s' });
    const fine = opensslSigned('basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:kici://alpha/nodes/node-1?role=worker\n');
    // openssl starts the certificate at the real present, after NOW.
    expect(verify(fine, new Date())).toMatchObject({ ok: true, identity: { nodeId: 'node-1', serial: '1234' } });
  });

  it('calls unreadable input unreadable, and throws when the trusted CA is not a cluster CA', () => {
    expect(verify(Buffer.from('garbage'))).toMatchObject({ ok: false, reason: 'unreadable' });
    expect(verify({})).toMatchObject({ ok: false, reason: 'unreadable' });
    expect(errorOf(() => verifyNodeCertificate(node.certificatePem, node.certificatePem, { now: NOW }))).toBeInstanceOf(CertificateFormatError);
  });
});
