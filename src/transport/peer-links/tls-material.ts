/**
 * The TLS options of both ends of a peer link, from the node's credentials. Only TLS 1.3, only the
 * cluster CA as trust root: a peer link is never a public-internet connection, so nothing older
 * or wider needs to be accepted. The private key leaves its holder here, for node:tls only.
 */
import type { NodeCredentials } from '../../certificates/index.js';

export interface PeerTlsOptions {
  key: string;
  cert: string;
  ca: string[];
  minVersion: 'TLSv1.3';
}

export function peerTlsOptions(credentials: NodeCredentials): PeerTlsOptions {
  return {
    key: credentials.privateKey.toPem(),
    cert: credentials.certificatePem,
    ca: [credentials.ca.certificatePem],
    minVersion: 'TLSv1.3',
  };
}
