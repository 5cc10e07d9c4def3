/**
 * The cluster CA: a self-signed ECDSA certificate the first node makes in its data directory. It
 * signs every node certificate and nothing else (path length 0: no intermediate CAs), and its
 * fingerprint is what a join token carries so a joiner knows it reached the right cluster.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { z } from 'zod';
import {
  type CertificateFingerprint,
  certificateDer,
  certificateFingerprint,
  type CertificateInput,
  certificatePem,
  newCertificateSerial,
  readCertificate,
  serialForDer,
} from './certificate.js';
import { CertificateFormatError } from './errors.js';
import { ID_PATTERN } from './identity.js';
import { checked, clusterIdSchema, instantSchema, validDaysSchema } from './parameters.js';
import { PrivateKey } from './private-key.js';
import { type RandomBytes, systemRandom } from './random.js';
import { validityPeriod } from './validity.js';
import { SIGNING_ALGORITHM, x509 } from './x509.js';

/** The subject's O of every cluster CA; its CN is the cluster id. */
export const CLUSTER_CA_ORGANIZATION = 'kici cluster CA';
export const DEFAULT_CA_VALID_DAYS = 3650;

/** What every node keeps: the CA certificate it trusts. */
export interface ClusterCaCertificate {
  clusterId: string;
  certificatePem: string;
  fingerprint: CertificateFingerprint;
  notAfter: Date;
}

/** What the node holding the CA keeps: the certificate and the key that signs node certificates. */
export interface ClusterCa extends ClusterCaCertificate {
  privateKey: PrivateKey;
}

export interface CreateClusterCa {
  clusterId: string;
  now: Date;
  validDays?: number;
  random?: RandomBytes;
}

const createSchema = z.object({
  clusterId: clusterIdSchema,
  now: instantSchema,
  validDays: validDaysSchema.default(DEFAULT_CA_VALID_DAYS),
});

export async function createClusterCa(params: CreateClusterCa): Promise<ClusterCa> {
  const { clusterId, now, validDays } = checked(createSchema, params, 'createClusterCa');
  const privateKey = PrivateKey.generate();
  const keys = await privateKey.cryptoKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialForDer(newCertificateSerial(params.random ?? systemRandom)),
    name: `CN=${clusterId}, O=${CLUSTER_CA_ORGANIZATION}`,
    ...validityPeriod(now, validDays),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...readClusterCaCertificate(certificatePem(certificate)), privateKey };
}

/**
 * A certificate checked to be a kici cluster CA: self-signed, a CA allowed to sign certificates,
 * with the cluster id as its CN. Used on every CA that comes from a file or from the wire.
 */
export function readClusterCaCertificate(input: CertificateInput): ClusterCaCertificate {
  const der = certificateDer(input);
  const certificate = readCertificate(der);
  const refuse = (why: string): never => {
    throw new CertificateFormatError(`the certificate is not a kici cluster CA: ${why}`);
  };
  const organizations = certificate.subjectName.getField('O');
  const commonNames = certificate.subjectName.getField('CN');
  if (organizations.length !== 1 || organizations[0] !== CLUSTER_CA_ORGANIZATION) refuse(`its subject O is not "${CLUSTER_CA_ORGANIZATION}"`);
  if (commonNames.length !== 1 || !ID_PATTERN.test(commonNames[0]!)) refuse('its subject CN is not a cluster id');
  if (certificate.getExtension(x509.BasicConstraintsExtension)?.ca !== true) refuse('it is not marked as a CA');
  const usages = certificate.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  if ((usages & x509.KeyUsageFlags.keyCertSign) === 0) refuse('its key may not sign certificates');
  const node = new NodeCertificate(der);
  if (!node.checkIssued(node) || !node.verify(node.publicKey)) refuse('it is not self-signed');
  return {
    clusterId: commonNames[0]!,
    certificatePem: certificatePem(certificate),
    fingerprint: certificateFingerprint(der),
    notAfter: certificate.notAfter,
  };
}
