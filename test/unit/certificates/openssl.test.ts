/**
 * A second opinion from the openssl CLI: the certificates say what this room claims (CA flag, key
 * usages, EKU, the kici SAN URI), chain to the cluster CA, and have the fingerprint we compute.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClusterCa, createClusterCa, createNodeRequest } from '../../../src/certificates/index.js';
import { type IssuedNode, issueNode, scratchDirectory } from './fixtures.js';

const OPENSSL = '/usr/bin/openssl';

function openssl(...args: string[]): string {
  return execFileSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function file(name: string, content: string): string {
  const path = join(scratchDirectory(), name);
  writeFileSync(path, content);
  return path;
}

let ca: ClusterCa;
let otherCa: ClusterCa;
let node: IssuedNode;

beforeAll(async () => {
  const now = new Date(); // openssl verify judges dates by the real clock
  ca = await createClusterCa({ clusterId: 'alpha', now });
  otherCa = await createClusterCa({ clusterId: 'beta', now });
  node = await issueNode(ca, 'node-7', 'coordinator', { addresses: ['10.1.2.3', 'node-7.example.internal'] });
});

describe('the cluster CA, read by openssl', () => {
  it('is a CA that may sign certificates and CRLs, with no intermediates below it, named by the cluster id', () => {
    const text = openssl('x509', '-noout', '-text', '-in', file('ca.pem', ca.certificatePem));
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Subject: CN = alpha, O = kici cluster CA/);
    expect(text).toMatch(/Issuer: CN = alpha, O = kici cluster CA/);
    expect(text).toMatch(/ecdsa-with-SHA256/);
    expect(text).toMatch(/NIST CURVE: P-256/);
  });

  it('has the fingerprint a join token carries', () => {
    const line = openssl('x509', '-noout', '-fingerprint', '-sha256', '-in', file('ca.pem', ca.certificatePem)).trim();
    const hex = line.split('=')[1]!.replaceAll(':', '').toLowerCase();
    expect(`sha256:${hex}`).toBe(ca.fingerprint);
  });

  it('verifies as its own trust anchor', () => {
    const path = file('ca.pem', ca.certificatePem);
    expect(openssl('verify', '-CAfile', path, path).trim()).toBe(`${path}: OK`);
  });

  it('accepts the private key as the key of its certificate', () => {
    const fromKey = openssl('pkey', '-pubout', '-in', file('ca.key', ca.privateKey.toPem()));
    const fromCertificate = openssl('x509', '-noout', '-pubkey', '-in', file('ca.pem', ca.certificatePem));
    expect(fromKey).toBe(fromCertificate);
  });
});

describe('a node certificate, read by openssl', () => {
  it('names the node in its CN and SAN URI, is no CA, and serves both TLS ends', () => {
    const text = openssl('x509', '-noout', '-text', '-in', file('node.pem', node.certificatePem));
    expect(text).toMatch(/Subject: CN = node-7\n/);
    expect(text).toMatch(/Issuer: CN = alpha, O = kici cluster CA/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/URI:kici:\/\/alpha\/nodes\/node-7\?role=coordinator, IP Address:10\.1\.2\.3, DNS:node-7\.example\.internal/);
    expect(text).toMatch(/Authority Key Identifier/);
  });

  it('carries the serial it was signed with', () => {
    const line = openssl('x509', '-noout', '-serial', '-in', file('node.pem', node.certificatePem)).trim();
    expect(line.replace(/^serial=0*/, '').toLowerCase()).toBe(node.serial);
  });

  it('verifies against its cluster CA for both TLS purposes', () => {
    const caPath = file('ca.pem', ca.certificatePem);
    const nodePath = file('node.pem', node.certificatePem);
    expect(openssl('verify', '-CAfile', caPath, '-purpose', 'sslclient', nodePath).trim()).toBe(`${nodePath}: OK`);
    expect(openssl('verify', '-CAfile', caPath, '-purpose', 'sslserver', nodePath).trim()).toBe(`${nodePath}: OK`);
  });

  it('does not verify against another cluster\'s CA', () => {
    const result = spawnSync(OPENSSL, ['verify', '-CAfile', file('other.pem', otherCa.certificatePem), file('node.pem', node.certificatePem)], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/unable to get local issuer certificate|certificate signature failure/);
  });

  it('cannot itself sign a certificate openssl would accept (it is no CA)', () => {
    const forged = openssl(
      'req', '-x509', '-new', '-key', file('node.key', node.privateKey.toPem()), '-subj', '/CN=node-9',
      '-CA', file('node.pem', node.certificatePem), '-CAkey', file('node2.key', node.privateKey.toPem()), '-days', '1',
    );
    const result = spawnSync(OPENSSL, ['verify', '-CAfile', file('ca.pem', ca.certificatePem), '-untrusted', file('node.pem', node.certificatePem), file('forged.pem', forged)], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/invalid CA certificate/);
  });
});

describe('a node\'s certificate signing request, read by openssl', () => {
  it('is self-signed by the joiner\'s key and names the node it asks to be', async () => {
    const { requestPem, privateKey } = await createNodeRequest({ clusterId: 'alpha', nodeId: 'node-3', role: 'worker' });
    const path = file('node.csr', requestPem);
    const text = spawnSync(OPENSSL, ['req', '-noout', '-text', '-verify', '-in', path], { encoding: 'utf8' });
    expect(text.status).toBe(0);
    expect(text.stdout + text.stderr).toMatch(/(verify OK|Certificate request self-signature verify OK)/);
    expect(text.stdout).toMatch(/Subject: CN = node-3/);
    expect(text.stdout).toMatch(/URI:kici:\/\/alpha\/nodes\/node-3\?role=worker/);
    const requestKey = openssl('req', '-noout', '-pubkey', '-in', path);
    expect(requestKey).toBe(openssl('pkey', '-pubout', '-in', file('node.key', privateKey.toPem())));
  });
});
