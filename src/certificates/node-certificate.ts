/**
 * The CA's side: turning a joiner's request into a node certificate. The certificate is built
 * from what the CA was told to grant (node id, role, addresses); the request only contributes its
 * public key, and must ask for exactly those names, so a joiner cannot talk its way into another
 * node's id or a role its join token does not give.
 */
import { z } from 'zod';
import { addressKeys, nodeAddress } from './addresses.js';
import { certificatePem, readCertificate, serialForDer } from './certificate.js';
import { type ClusterCa, readClusterCaCertificate } from './cluster-ca.js';
import { NodeRequestRefusedError, PrivateKeyError } from './errors.js';
import { type NodeRole, nodeUri } from './identity.js';
import { readNodeRequest } from './node-request.js';
import {
  addressesSchema,
  checked,
  clusterIdSchema,
  instantSchema,
  nodeIdSchema,
  roleSchema,
  serialSchema,
  validDaysSchema,
} from './parameters.js';
import { PrivateKey } from './private-key.js';
import { validityPeriod } from './validity.js';
import { SIGNING_ALGORITHM, x509 } from './x509.js';

export const DEFAULT_NODE_VALID_DAYS = 365;

export interface SignNodeCertificate {
  ca: ClusterCa;
  /** The joiner's PEM certificate signing request. */
  csrPem: string;
  clusterId: string;
  nodeId: string;
  role: NodeRole;
  /** Hex, unique within the cluster (see `newCertificateSerial`): what a revoked list names. */
  serial: string;
  now: Date;
  validDays?: number;
  /** Host names or IPs to name besides the kici URI; the request must ask for exactly these. */
  addresses?: string[];
}

const signSchema = z.object({
  ca: z.custom<ClusterCa>(
    (value) => typeof value === 'object' && value !== null && (value as ClusterCa).privateKey instanceof PrivateKey && typeof (value as ClusterCa).certificatePem === 'string',
    'the cluster CA with its private key',
  ),
  csrPem: z.string({ error: 'a PEM certificate signing request' }),
  clusterId: clusterIdSchema,
  nodeId: nodeIdSchema,
  role: roleSchema,
  serial: serialSchema,
  now: instantSchema,
  validDays: validDaysSchema.default(DEFAULT_NODE_VALID_DAYS),
  addresses: addressesSchema.default([]),
});

/** Sign a node certificate (PEM); refuses a request whose signature fails or whose names differ from those given. */
export async function signNodeCertificate(params: SignNodeCertificate): Promise<string> {
  const p = checked(signSchema, params, 'signNodeCertificate');
  const ca = readClusterCaCertificate(p.ca.certificatePem);
  if (ca.clusterId !== p.clusterId) throw new TypeError(`signNodeCertificate: the CA is cluster ${ca.clusterId}'s, not ${p.clusterId}'s`);
  if (!p.ca.privateKey.belongsTo(ca.certificatePem)) throw new PrivateKeyError('the CA private key is not the key of the CA certificate');
  if (p.now.getTime() >= ca.notAfter.getTime()) throw new TypeError('signNodeCertificate: the cluster CA has expired');

  const request = await readNodeRequest(p.csrPem);
  const addresses = p.addresses.map(nodeAddress);
  const disagreements = [
    request.clusterId !== p.clusterId && `cluster ${request.clusterId}, not ${p.clusterId}`,
    request.nodeId !== p.nodeId && `node ${request.nodeId}, not ${p.nodeId}`,
    request.role !== p.role && `role ${request.role}, not ${p.role}`,
    addressKeys(request.addresses).join(',') !== addressKeys(addresses).join(',') &&
      `addresses [${addressKeys(request.addresses).join(', ')}], not [${addressKeys(addresses).join(', ')}]`,
  ].filter((d): d is string => typeof d === 'string');
  if (disagreements.length > 0) throw new NodeRequestRefusedError(`the request asks for ${disagreements.join('; ')}`);

  const caCertificate = readCertificate(ca.certificatePem);
  const validity = validityPeriod(p.now, p.validDays);
  // A certificate cannot outlive the CA that vouches for it: past that no peer would accept it anyway.
  const notAfter = validity.notAfter > ca.notAfter ? ca.notAfter : validity.notAfter;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialForDer(p.serial),
    subject: `CN=${p.nodeId}`,
    issuer: caCertificate.subjectName,
    notBefore: validity.notBefore,
    notAfter,
    publicKey: request.publicKeyDer,
    signingKey: (await p.ca.privateKey.cryptoKeys()).privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: nodeUri(p) }, ...addresses]),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKeyDer),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
    ],
  });
  return certificatePem(certificate);
}
