/**
 * A cluster port's address as nodes name each other: `host:port` or `[ipv6]:port`, port 1–65535.
 * One rule for every place an address enters (configuration, a join request, the replicated
 * state, the CLI), so an address one of them accepts is never refused by another.
 */
const ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[^:[\]\s,]+):(\d{1,5})$/;

export const PEER_ADDRESS_RULE = 'host:port or [ipv6]:port, port 1–65535';

export function isPeerAddress(text: string): boolean {
  const match = ADDRESS.exec(text);
  if (!match) return false;
  const port = Number(match[1]);
  return port >= 1 && port <= 65_535;
}
