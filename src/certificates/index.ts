/**
 * The certificate room: the cluster CA, node certificates and the identity they name, join
 * tokens, and the files they are kept in. Peers of a cluster speak TLS with client certificates;
 * each names its node as `kici://<clusterId>/nodes/<nodeId>?role=<role>`, signed by the CA the
 * first node made. The room makes and judges certificates; it opens no sockets and keeps no
 * records (the peer transport, the admin CLI and the store use it). Private keys and token
 * secrets never appear in its errors, and their holders print as redacted.
 */
export { type NodeAddress } from './addresses.js';
export {
  type CertificateFingerprint,
  certificateFingerprint,
  type CertificateInput,
  MAX_SERIAL_HEX_DIGITS,
  newCertificateSerial,
  normaliseSerial,
} from './certificate.js';
export {
  CLUSTER_CA_ORGANIZATION,
  type ClusterCa,
  type ClusterCaCertificate,
  createClusterCa,
  type CreateClusterCa,
  DEFAULT_CA_VALID_DAYS,
  readClusterCaCertificate,
} from './cluster-ca.js';
export {
  CertificateFormatError,
  JoinTokenFormatError,
  type JoinTokenPart,
  KeyFileError,
  NodeRequestRefusedError,
  NoNodeIdentityError,
  PrivateKeyError,
  SealedBoxError,
} from './errors.js';
export {
  NODE_ROLES,
  type NodeIdentity,
  nodeIdentity,
  type NodeName,
  type NodeRole,
  nodeUri,
  readNodeUri,
} from './identity.js';
export {
  createJoinToken,
  type CreateJoinToken,
  type IssuedJoinToken,
  JOIN_TOKEN_VERSION,
  JoinToken,
  joinTokenNamesCa,
  parseJoinToken,
  verifyJoinSecret,
} from './join-token.js';
export {
  CLUSTER_CA_CERTIFICATE_FILE,
  CLUSTER_CA_KEY_FILE,
  loadClusterCa,
  loadClusterCaCertificate,
  loadNodeCredentials,
  NODE_CERTIFICATE_FILE,
  NODE_KEY_FILE,
  type NodeCredentials,
  saveClusterCa,
  saveNodeCredentials,
  type SaveNodeCredentials,
} from './key-files.js';
export { DEFAULT_NODE_VALID_DAYS, signNodeCertificate, type SignNodeCertificate } from './node-certificate.js';
export {
  createNodeRequest,
  type CreateNodeRequest,
  type NodeKeyAndRequest,
  type NodeRequest,
  type NodeRequestNames,
  readNodeRequest,
} from './node-request.js';
export { PrivateKey } from './private-key.js';
export { openSealed, sealFor, type SealedBox } from './sealed-box.js';
export { type RandomBytes, systemRandom } from './random.js';
export { CLOCK_SKEW_ALLOWANCE_MS } from './validity.js';
export {
  type NodeCertificateRefusal,
  type NodeCertificateVerdict,
  verifyNodeCertificate,
  type VerifyNodeCertificateOptions,
} from './verification.js';
