/** The cluster CA as this room makes and reads it. */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CertificateFormatError,
  CLOCK_SKEW_ALLOWANCE_MS,
  certificateFingerprint,
  createClusterCa,
  DEFAULT_CA_VALID_DAYS,
  newCertificateSerial,
  normaliseSerial,
  readClusterCaCertificate,
} from '../../../src/certificates/index.js';
import { DAY_MS, errorOf, issueNode, rejectionOf } from './fixtures.js';

const NOW = new Date('2026-03-01T12:00:00Z');

describe('createClusterCa', () => {
  it('makes a self-signed CA for the cluster, valid from a little before now for ten years', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: NOW });
    const certificate = new NodeCertificate(ca.certificatePem);
    expect(certificate.ca).toBe(true);
    expect(certificate.subject).toBe('CN=alpha\nO=kici cluster CA');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(new Date(certificate.validFrom).getTime()).toBe(NOW.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
    expect(new Date(certificate.validTo).getTime()).toBe(NOW.getTime() + DEFAULT_CA_VALID_DAYS * DAY_MS);
    expect(ca.notAfter).toEqual(new Date(certificate.validTo));
    expect(ca.fingerprint).toBe(`sha256:${certificate.fingerprint256.replaceAll(':', '').toLowerCase()}`);
    expect(ca.fingerprint).toBe(certificateFingerprint(ca.certificatePem));
    expect(ca.privateKey.belongsTo(ca.certificatePem)).toBe(true);
  });

  it('makes a new key and fingerprint every time', async () => {
    const [a, b] = await Promise.all([createClusterCa({ clusterId: 'alpha', now: NOW }), createClusterCa({ clusterId: 'alpha', now: NOW })]);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.privateKey.belongsTo(b.certificatePem)).toBe(false);
  });

  it('takes its serial from the random port', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: NOW, random: (size) => Buffer.alloc(size, 0xab) });
    expect(new NodeCertificate(ca.certificatePem).serialNumber.toLowerCase()).toBe('ab'.repeat(16));
  });

  it('checks its parameters', async () => {
    expect((await rejectionOf(createClusterCa({ clusterId: 'a b', now: NOW }))).message).toBe(
      'createClusterCa: clusterId: a cluster id is 1–64 letters, digits, dots, dashes or underscores',
    );
    expect((await rejectionOf(createClusterCa({ clusterId: 'alpha', now: NOW, validDays: 1.5 }))).message).toMatch(/^createClusterCa: validDays:/);
    expect((await rejectionOf(createClusterCa({ clusterId: 'alpha', now: 'now' as never }))).message).toMatch(/^createClusterCa: now:/);
  });
});

describe('readClusterCaCertificate', () => {
  it('reads back the cluster id and fingerprint', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: NOW });
    expect(readClusterCaCertificate(ca.certificatePem)).toEqual({ clusterId: 'alpha', certificatePem: ca.certificatePem, fingerprint: ca.fingerprint, notAfter: ca.notAfter });
  });

  it('refuses a node certificate posing as the CA', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: new Date() });
    const node = await issueNode(ca, 'node-1', 'worker');
    const error = errorOf(() => readClusterCaCertificate(node.certificatePem));
    expect(error).toBeInstanceOf(CertificateFormatError);
    expect(error.message).toMatch(/is not a kici cluster CA/);
  });
});

describe('certificate serials', () => {
  it('are compared in one spelling', () => {
    expect(normaliseSerial('00ABcd')).toBe('abcd');
    expect(() => normaliseSerial('000')).toThrow(/must not be zero/);
    expect(() => normaliseSerial('xyz')).toThrow(/hex digits/);
  });

  it('are 128 random bits and never zero', () => {
    expect(newCertificateSerial(() => Buffer.alloc(16))).toBe('1');
    expect(newCertificateSerial()).toMatch(/^[0-9a-f]{1,32}$/);
    expect(newCertificateSerial()).not.toBe(newCertificateSerial());
  });
});
