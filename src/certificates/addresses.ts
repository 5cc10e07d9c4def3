/**
 * The network addresses a node certificate may also name (SAN DNS and IP entries), so that plain
 * TLS clients such as curl or openssl can check the host they dialled. Peers of the cluster check
 * the kici URI instead and ignore these.
 */
import { isIP } from 'node:net';
import { x509 } from './x509.js';

export interface NodeAddress {
  type: 'dns' | 'ip';
  value: string;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** An address as it will read back from a certificate: IPs in the library's own text form, host names in lowercase. */
export function nodeAddress(text: string): NodeAddress {
  if (isIP(text)) {
    // Round-trip through the encoder so `0:0::1` and `::1` compare equal to what a certificate holds.
    const encoded = new x509.GeneralName('ip', text);
    return { type: 'ip', value: new x509.GeneralName(encoded.rawData).value };
  }
  if (HOST_NAME.test(text)) return { type: 'dns', value: text.toLowerCase() };
  throw new TypeError('an address is an IPv4 or IPv6 address or a host name');
}

export function isNodeAddress(text: string): boolean {
  try {
    nodeAddress(text);
    return true;
  } catch {
    return false;
  }
}

/** Addresses as a set, for comparing what a request asks with what the CA was told to grant. */
export function addressKeys(addresses: readonly NodeAddress[]): string[] {
  return [...new Set(addresses.map((a) => `${a.type}:${a.value}`))].sort();
}
