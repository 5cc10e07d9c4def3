/**
 * Certificate material on disk, in a directory the caller names (the data directory, say):
 *
 *     cluster-ca.crt   the cluster CA certificate: every node keeps it, it is whom they trust
 *     cluster-ca.key   the CA's private key: only on nodes that sign certificates (mode 0600)
 *     node.crt         this node's certificate
 *     node.key         this node's private key (mode 0600)
 *
 * A CA is never overwritten (a second one would split the cluster); node material may be (a
 * renewed certificate), and each file is replaced whole, by rename, so a crash leaves the old or
 * the new file, never half of one. A key that does not match its certificate is refused on load.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClusterCa, type ClusterCaCertificate, readClusterCaCertificate } from './cluster-ca.js';
import { KeyFileError } from './errors.js';
import { type NodeIdentity, nodeIdentity } from './identity.js';
import { PrivateKey } from './private-key.js';
import { verifyNodeCertificate } from './verification.js';

export const CLUSTER_CA_CERTIFICATE_FILE = 'cluster-ca.crt';
export const CLUSTER_CA_KEY_FILE = 'cluster-ca.key';
export const NODE_CERTIFICATE_FILE = 'node.crt';
export const NODE_KEY_FILE = 'node.key';

const PRIVATE = 0o600;
const PUBLIC = 0o644;

/** A node's own TLS material, checked to fit together: key to certificate, certificate to CA. */
export interface NodeCredentials {
  certificatePem: string;
  privateKey: PrivateKey;
  ca: ClusterCaCertificate;
  identity: NodeIdentity;
}

/** Keep a new cluster CA; refuses if the directory already holds a CA certificate or key. */
export function saveClusterCa(directory: string, ca: ClusterCa): void {
  const checked = readClusterCaCertificate(ca.certificatePem);
  if (!(ca.privateKey instanceof PrivateKey) || !ca.privateKey.belongsTo(checked.certificatePem)) {
    throw new KeyFileError(join(directory, CLUSTER_CA_KEY_FILE), 'the CA private key is not the key of the CA certificate');
  }
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  for (const name of [CLUSTER_CA_CERTIFICATE_FILE, CLUSTER_CA_KEY_FILE]) {
    if (exists(join(directory, name))) throw new KeyFileError(join(directory, name), `${join(directory, name)} already exists: a cluster CA is never overwritten`);
  }
  writeNew(join(directory, CLUSTER_CA_KEY_FILE), ca.privateKey.toPem(), PRIVATE);
  writeNew(join(directory, CLUSTER_CA_CERTIFICATE_FILE), checked.certificatePem, PUBLIC);
}

/** The CA certificate this node trusts, or undefined when none is kept yet. */
export function loadClusterCaCertificate(directory: string): ClusterCaCertificate | undefined {
  const path = join(directory, CLUSTER_CA_CERTIFICATE_FILE);
  const pem = readIfPresent(path);
  if (pem === undefined) return undefined;
  try {
    return readClusterCaCertificate(pem);
  } catch (error) {
    throw new KeyFileError(path, `${path}: ${(error as Error).message}`);
  }
}

/** The CA with its signing key, or undefined on a node that does not hold the CA key. */
export function loadClusterCa(directory: string): ClusterCa | undefined {
  const keyPath = join(directory, CLUSTER_CA_KEY_FILE);
  const keyPem = readIfPresent(keyPath);
  if (keyPem === undefined) return undefined;
  const certificate = loadClusterCaCertificate(directory);
  if (!certificate) throw new KeyFileError(keyPath, `${keyPath} has no ${CLUSTER_CA_CERTIFICATE_FILE} beside it`);
  const privateKey = readPrivateKey(keyPath, keyPem);
  if (!privateKey.belongsTo(certificate.certificatePem)) {
    throw new KeyFileError(keyPath, `${keyPath} is not the key of ${join(directory, CLUSTER_CA_CERTIFICATE_FILE)}`);
  }
  return { ...certificate, privateKey };
}

export interface SaveNodeCredentials {
  certificatePem: string;
  privateKey: PrivateKey;
  /** The cluster CA the certificate was signed by; written beside it unless the same one is there. */
  caCertificatePem: string;
}

/** Keep (or replace) this node's certificate and key; refuses material that does not fit together or a different CA. */
export function saveNodeCredentials(directory: string, material: SaveNodeCredentials): NodeCredentials {
  const credentials = fitTogether(directory, material.certificatePem, material.privateKey, material.caCertificatePem);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const kept = loadClusterCaCertificate(directory);
  const caPath = join(directory, CLUSTER_CA_CERTIFICATE_FILE);
  if (kept && kept.fingerprint !== credentials.ca.fingerprint) {
    throw new KeyFileError(caPath, `${caPath} holds another cluster's CA (${kept.fingerprint}); the node certificate is signed by ${credentials.ca.fingerprint}`);
  }
  if (!kept) writeNew(caPath, credentials.ca.certificatePem, PUBLIC);
  // Key first: a crash between the two leaves a new key beside the old certificate, which the
  // next load refuses loudly, rather than an old key that silently fails every handshake.
  replace(join(directory, NODE_KEY_FILE), credentials.privateKey.toPem(), PRIVATE);
  replace(join(directory, NODE_CERTIFICATE_FILE), credentials.certificatePem, PUBLIC);
  return credentials;
}

/** This node's certificate, key and CA, checked to fit together; undefined when the node has no certificate yet. */
export function loadNodeCredentials(directory: string): NodeCredentials | undefined {
  const certificatePath = join(directory, NODE_CERTIFICATE_FILE);
  const keyPath = join(directory, NODE_KEY_FILE);
  const certificatePem = readIfPresent(certificatePath);
  const keyPem = readIfPresent(keyPath);
  if (certificatePem === undefined && keyPem === undefined) return undefined;
  if (certificatePem === undefined) throw new KeyFileError(certificatePath, `${keyPath} has no ${NODE_CERTIFICATE_FILE} beside it`);
  if (keyPem === undefined) throw new KeyFileError(keyPath, `${certificatePath} has no ${NODE_KEY_FILE} beside it`);
  const ca = loadClusterCaCertificate(directory);
  if (!ca) throw new KeyFileError(join(directory, CLUSTER_CA_CERTIFICATE_FILE), `${certificatePath} has no ${CLUSTER_CA_CERTIFICATE_FILE} beside it`);
  return fitTogether(directory, certificatePem, readPrivateKey(keyPath, keyPem), ca.certificatePem);
}

function fitTogether(directory: string, certificatePem: string, privateKey: PrivateKey, caCertificatePem: string): NodeCredentials {
  const certificatePath = join(directory, NODE_CERTIFICATE_FILE);
  let ca: ClusterCaCertificate;
  let identity: NodeIdentity;
  try {
    ca = readClusterCaCertificate(caCertificatePem);
    identity = nodeIdentity(certificatePem);
  } catch (error) {
    throw new KeyFileError(certificatePath, `${certificatePath}: ${(error as Error).message}`);
  }
  // Dates and revocation are not judged here (an expired certificate must still load so it can be
  // renewed), so the certificate is judged at its own last valid instant: only its fit counts.
  const verdict = verifyNodeCertificate(certificatePem, ca.certificatePem, { now: identity.notAfter });
  if (!verdict.ok) {
    throw new KeyFileError(certificatePath, `${certificatePath}: ${verdict.message}`);
  }
  if (!(privateKey instanceof PrivateKey) || !privateKey.belongsTo(certificatePem)) {
    throw new KeyFileError(join(directory, NODE_KEY_FILE), `${join(directory, NODE_KEY_FILE)} is not the key of ${certificatePath}`);
  }
  return { certificatePem, privateKey, ca, identity };
}

function readPrivateKey(path: string, pem: string): PrivateKey {
  try {
    return PrivateKey.fromPem(pem);
  } catch (error) {
    throw new KeyFileError(path, `${path}: ${(error as Error).message}`);
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyFileError(path, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Write to a fresh temporary file with its final mode from the start, so the content is never readable by others even briefly. */
function writeTemporary(path: string, content: string, mode: number): string {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, content, { mode, flag: 'wx' });
  return temporary;
}

/** Create `path` whole, or fail if it exists (a hard link, unlike rename, refuses to replace). */
function writeNew(path: string, content: string, mode: number): void {
  const temporary = writeTemporary(path, content, mode);
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(path, `${path} already exists and is not overwritten`);
    throw new KeyFileError(path, `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function replace(path: string, content: string, mode: number): void {
  const temporary = writeTemporary(path, content, mode);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new KeyFileError(path, `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
}
