/**
 * The joiner's side of getting a node certificate: it makes its own key pair and a certificate
 * signing request (PKCS#10) that names the node it wants to be. Only the request travels; the
 * private key never leaves the joiner. The CA reads a request with `readNodeRequest`, which checks
 * its signature (the requester holds the key) before believing any name in it.
 */
import { z } from 'zod';
import { type NodeAddress, nodeAddress } from './addresses.js';
import { CertificateFormatError, NodeRequestRefusedError } from './errors.js';
import { type NodeName, nodeNameOf, nodeUri, subjectAltNames } from './identity.js';
import { addressesSchema, checked, clusterIdSchema, nodeIdSchema, roleSchema } from './parameters.js';
import { PrivateKey } from './private-key.js';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.js';

export interface NodeRequestNames extends NodeName {
  /** Host names and IPs the node wants in its certificate besides its kici URI (may be empty). */
  addresses: NodeAddress[];
}

export interface NodeKeyAndRequest {
  /** Stays on the joiner: saved with `saveNodeCredentials` once the certificate comes back. */
  privateKey: PrivateKey;
  /** PEM `CERTIFICATE REQUEST`: what the joiner sends to the cluster. */
  requestPem: string;
}

export interface CreateNodeRequest extends NodeName {
  addresses?: string[];
}

const createSchema = z.object({
  clusterId: clusterIdSchema,
  nodeId: nodeIdSchema,
  role: roleSchema,
  addresses: addressesSchema.default([]),
});

export async function createNodeRequest(params: CreateNodeRequest): Promise<NodeKeyAndRequest> {
  const { clusterId, nodeId, role, addresses } = checked(createSchema, params, 'createNodeRequest');
  const privateKey = PrivateKey.generate();
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${nodeId}`,
    keys: await privateKey.cryptoKeys(),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: nodeUri({ clusterId, nodeId, role }) },
        ...addresses.map(nodeAddress),
      ]),
    ],
  });
  return { privateKey, requestPem: `${request.toString('pem')}\n` };
}

/** A request whose signature verifies, with the ECDSA P-256 key and the names it asks for. */
export interface NodeRequest extends NodeRequestNames {
  /** The requester's public key, SubjectPublicKeyInfo DER: what the certificate will certify. */
  publicKeyDer: Buffer;
}

export async function readNodeRequest(requestPem: string): Promise<NodeRequest> {
  if (typeof requestPem !== 'string') throw new CertificateFormatError('a certificate signing request is PEM text');
  let request: x509.Pkcs10CertificateRequest;
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(requestPem);
    if (blocks.length !== 1 || blocks[0]!.type !== 'CERTIFICATE REQUEST') throw new Error('not one CERTIFICATE REQUEST block');
    request = new x509.Pkcs10CertificateRequest(blocks[0]!.rawData);
  } catch {
    throw new CertificateFormatError('the text is not one PEM certificate signing request');
  }
  const algorithm = request.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== KEY_ALGORITHM.name || algorithm.namedCurve !== KEY_ALGORITHM.namedCurve) {
    throw new NodeRequestRefusedError('the request\'s key is not ECDSA P-256');
  }
  let signed = false;
  try {
    signed = await request.verify();
  } catch {
    signed = false;
  }
  if (!signed) throw new NodeRequestRefusedError('the request\'s signature does not verify: its sender does not hold the key it names');
  let sans: readonly x509.GeneralName[];
  try {
    sans = subjectAltNames(request.extensions);
  } catch {
    throw new NodeRequestRefusedError('the request has a subject alternative name extension this room cannot read');
  }
  let name: NodeName;
  try {
    name = nodeNameOf(request.subjectName, sans, 'request');
  } catch (error) {
    throw new NodeRequestRefusedError((error as Error).message);
  }
  const others = sans.filter((n) => !(n.type === 'url' && n.value === nodeUri(name)));
  const addresses: NodeAddress[] = [];
  for (const other of others) {
    if (other.type !== 'dns' && other.type !== 'ip') throw new NodeRequestRefusedError(`the request asks for a name of type ${other.type}; only its kici URI, host names and IPs are signed`);
    try {
      addresses.push(nodeAddress(other.value));
    } catch {
      throw new NodeRequestRefusedError(`the request asks for a ${other.type} name that is not a valid address`);
    }
  }
  const unique = new Map(addresses.map((a) => [`${a.type}:${a.value}`, a]));
  return { ...name, addresses: [...unique.values()], publicKeyDer: Buffer.from(request.publicKey.rawData) };
}
