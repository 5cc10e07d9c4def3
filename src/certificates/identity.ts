/**
 * The identity a node certificate names, and how it names it. Peers do not check host names:
 * they check one SAN URI, `kici://<clusterId>/nodes/<nodeId>?role=<role>`, which says which
 * cluster the node belongs to, which node it is and what it may do. The subject CN repeats the
 * node id for people reading the certificate with openssl; the two must agree.
 */
import { type CertificateInput, normaliseSerial, readCertificate } from './certificate.js';
import { NoNodeIdentityError } from './errors.js';
import { x509 } from './x509.js';

export const NODE_ROLES = ['coordinator', 'worker'] as const;
/** A coordinator takes part in consensus and scheduling; a worker only runs jobs. */
export type NodeRole = (typeof NODE_ROLES)[number];

/**
 * Cluster and node ids: the grammar `KICI_CLUSTER_INSTANCE_ID` already has (letters, digits, `.`
 * `-` `_`, at most 64), all of which sit in a URI without escaping.
 */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const ID_RULE = '1–64 letters, digits, dots, dashes or underscores';

export interface NodeName {
  clusterId: string;
  nodeId: string;
  role: NodeRole;
}

export interface NodeIdentity extends NodeName {
  /** Normalised serial (lowercase hex, no leading zeros): what a revoked list holds. */
  serial: string;
  notAfter: Date;
}

export const NODE_URI_SCHEME = 'kici:';

export function nodeUri({ clusterId, nodeId, role }: NodeName): string {
  return `kici://${clusterId}/nodes/${nodeId}?role=${role}`;
}

// Parsed by pattern, not by URL: WHATWG URL parsing would lowercase or escape parts of the host,
// and an identity must read back exactly as it was written.
const NODE_URI = /^kici:\/\/([A-Za-z0-9._-]{1,64})\/nodes\/([A-Za-z0-9._-]{1,64})\?role=([a-z]+)$/;

/** The node a URI names, or undefined when it is not a kici node URI. */
export function readNodeUri(uri: string): NodeName | undefined {
  const match = NODE_URI.exec(uri);
  if (!match) return undefined;
  const role = match[3] as NodeRole;
  if (!NODE_ROLES.includes(role)) return undefined;
  return { clusterId: match[1]!, nodeId: match[2]!, role };
}

const SUBJECT_ALT_NAME = '2.5.29.17';

/** The SAN entries among a certificate's or request's extensions, or none when there is no SAN extension. */
export function subjectAltNames(extensions: readonly x509.Extension[]): readonly x509.GeneralName[] {
  const found = extensions.filter((e) => e.type === SUBJECT_ALT_NAME);
  if (found.length > 1) throw new NoNodeIdentityError('more than one subject alternative name extension');
  const extension = found[0];
  if (!extension) return [];
  const san = extension instanceof x509.SubjectAlternativeNameExtension ? extension : new x509.SubjectAlternativeNameExtension(extension.rawData);
  return san.names.items;
}

/** The node a certificate or request names, checked for exactly one kici URI and a CN that agrees. */
export function nodeNameOf(subject: x509.Name, sans: readonly x509.GeneralName[], what: string): NodeName {
  const kiciUris = sans.filter((n) => n.type === 'url' && n.value.startsWith(NODE_URI_SCHEME));
  if (kiciUris.length === 0) throw new NoNodeIdentityError(`the ${what} names no kici node (it has no kici:// SAN URI)`);
  if (kiciUris.length > 1) throw new NoNodeIdentityError(`the ${what} names more than one kici node`);
  const name = readNodeUri(kiciUris[0]!.value);
  if (!name) throw new NoNodeIdentityError(`the ${what}'s kici URI is not of the form kici://<cluster>/nodes/<node>?role=coordinator|worker`);
  const commonNames = subject.getField('CN');
  if (commonNames.length !== 1 || commonNames[0] !== name.nodeId) {
    throw new NoNodeIdentityError(`the ${what}'s subject CN does not match the node id ${name.nodeId} its URI names`);
  }
  return name;
}

/**
 * Who a certificate says its holder is. This reads; it does not trust: only a certificate that
 * `verifyNodeCertificate` accepted (or that TLS verified against the cluster CA) names a peer.
 */
export function nodeIdentity(certificate: CertificateInput): NodeIdentity {
  return identityOf(readCertificate(certificate));
}

/** `nodeIdentity` of a certificate already parsed. */
export function identityOf(certificate: x509.X509Certificate): NodeIdentity {
  let sans: readonly x509.GeneralName[];
  try {
    sans = subjectAltNames(certificate.extensions);
  } catch (error) {
    if (error instanceof NoNodeIdentityError) throw error;
    throw new NoNodeIdentityError('the certificate has a subject alternative name extension this room cannot read');
  }
  const name = nodeNameOf(certificate.subjectName, sans, 'certificate');
  return { ...name, serial: normaliseSerial(certificate.serialNumber), notAfter: certificate.notAfter };
}
