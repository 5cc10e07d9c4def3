/**
 * Whether a certificate a peer presents belongs to a node of this cluster, and if not, why not.
 * TLS with `requestCert` and the cluster CA already checks the chain and dates during the
 * handshake; this is the same judgement in one place the transport can also apply afterwards
 * (with the revoked list, which TLS does not know) and report in words.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { z } from 'zod';
import { certificateDer, type CertificateInput, normaliseSerial, readCertificate } from './certificate.js';
import { readClusterCaCertificate } from './cluster-ca.js';
import { CertificateFormatError, NoNodeIdentityError } from './errors.js';
import { identityOf, type NodeIdentity } from './identity.js';
import { checked, instantSchema } from './parameters.js';
import { x509 } from './x509.js';

export type NodeCertificateRefusal = 'unreadable' | 'wrong-ca' | 'not-a-node-certificate' | 'revoked' | 'not-yet-valid' | 'expired';

export type NodeCertificateVerdict =
  | { ok: true; identity: NodeIdentity }
  | { ok: false; reason: NodeCertificateRefusal; message: string };

export interface VerifyNodeCertificateOptions {
  now: Date;
  /** Serials of revoked node certificates, in any case, with or without leading zeros. */
  revokedSerials?: Iterable<string>;
}

const optionsSchema = z.object({
  now: instantSchema,
  revokedSerials: z
    .custom<Iterable<string>>((value) => value === undefined || (typeof value === 'object' && value !== null && Symbol.iterator in value), 'an iterable of hex serials')
    .optional(),
});

/**
 * Judge `certificate` against the cluster CA `caCertificate`. A CA that is not a kici cluster CA
 * throws (that is our own configuration, not the peer's fault); every fault of the certificate is
 * a verdict.
 */
export function verifyNodeCertificate(
  certificate: CertificateInput,
  caCertificate: CertificateInput,
  options: VerifyNodeCertificateOptions,
): NodeCertificateVerdict {
  const { now, revokedSerials } = checked(optionsSchema, options, 'verifyNodeCertificate');
  const revoked = new Set<string>();
  for (const serial of revokedSerials ?? []) revoked.add(normaliseSerial(serial));
  const ca = readClusterCaCertificate(caCertificate);
  const caNode = new NodeCertificate(certificateDer(ca.certificatePem));
  const refuse = (reason: NodeCertificateRefusal, message: string): NodeCertificateVerdict => ({ ok: false, reason, message });

  let parsed: x509.X509Certificate;
  let node: NodeCertificate;
  try {
    const der = certificateDer(certificate);
    parsed = readCertificate(der);
    node = new NodeCertificate(der);
  } catch (error) {
    return refuse('unreadable', (error as Error).message);
  }

  if (!node.checkIssued(caNode) || !node.verify(caNode.publicKey)) {
    return refuse('wrong-ca', `the certificate is not signed by the CA of cluster ${ca.clusterId}`);
  }

  if (parsed.getExtension(x509.BasicConstraintsExtension)?.ca === true) return refuse('not-a-node-certificate', 'the certificate is a CA');
  const usages = parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  if (!usages.includes(x509.ExtendedKeyUsage.serverAuth) || !usages.includes(x509.ExtendedKeyUsage.clientAuth)) {
    return refuse('not-a-node-certificate', 'the certificate is not for both TLS server and client authentication');
  }
  let identity: NodeIdentity;
  try {
    identity = identityOf(parsed);
  } catch (error) {
    // A CA-signed certificate with no readable identity (or a zero serial) is still the peer's fault, not ours.
    if (error instanceof NoNodeIdentityError || error instanceof CertificateFormatError) return refuse('not-a-node-certificate', error.message);
    throw error;
  }
  if (identity.clusterId !== ca.clusterId) {
    return refuse('not-a-node-certificate', `the certificate names cluster ${identity.clusterId}, but the CA is cluster ${ca.clusterId}'s`);
  }

  if (revoked.has(identity.serial)) return refuse('revoked', `the certificate of node ${identity.nodeId} (serial ${identity.serial}) is revoked`);
  if (now < parsed.notBefore) return refuse('not-yet-valid', `the certificate is valid from ${parsed.notBefore.toISOString()}`);
  if (now > parsed.notAfter) return refuse('expired', `the certificate expired at ${parsed.notAfter.toISOString()}`);
  return { ok: true, identity };
}
