import { isIP } from 'node:net';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is `10.0.0.1`, so one client has one key. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return (mapped ? mapped[1] : trimmed).toLowerCase();
}

/** The trusted-proxy list as a set of normalised addresses (KICI_TRUSTED_PROXIES). */
export function trustedProxies(addresses: readonly string[]): ReadonlySet<string> {
  return new Set(addresses.map(normaliseAddress));
}

/**
 * Who is knocking: the TCP peer, unless that peer is a proxy the operator named as trusted. Then
 * X-Forwarded-For is read from the right (each proxy appends what it saw), skipping trusted
 * proxies, and the first address no trusted proxy could have written is the client. Anything a
 * client could forge (the left part of the header, or the header with no trusted peer) is never
 * believed: an attacker must not pick the address it is counted under.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: ReadonlySet<string>): string {
  let address = peer ? normaliseAddress(peer) : 'unknown';
  if (!forwardedFor || !trusted.has(address)) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => normaliseAddress(hop))
    .filter((hop) => hop.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    // A malformed hop ends the walk at the last address a trusted proxy vouched for.
    if (isIP(hops[i]) === 0) return address;
    address = hops[i];
    if (!trusted.has(address)) return address;
  }
  return address;
}
