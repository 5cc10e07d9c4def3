import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { normaliseAddress } from '../auth-guard/index.js';
import { UiRefusal } from './http.js';

/**
 * Whether the browser reached us over https: the socket is TLS, or a proxy the operator trusts
 * (KICI_TRUSTED_PROXIES) says so in `X-Forwarded-Proto`. Anyone else's header is not believed,
 * as with `X-Forwarded-For`.
 */
export function cameOverHttps(req: IncomingMessage, trusted: ReadonlySet<string>): boolean {
  if ((req.socket as TLSSocket).encrypted === true) return true;
  const peer = req.socket.remoteAddress;
  if (!peer || !trusted.has(normaliseAddress(peer))) return false;
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/** Scheme and Host header: the origin a same-origin page sends in `Origin`. */
export function ownOrigin(req: IncomingMessage, trusted: ReadonlySet<string>): string | undefined {
  const host = req.headers.host;
  if (!host) return undefined;
  return `${cameOverHttps(req, trusted) ? 'https' : 'http'}://${host.toLowerCase()}`;
}

const SAME_SITE_FETCHES: ReadonlySet<string> = new Set(['same-origin', 'none']);

/**
 * Changes come only from the page itself. Browsers send `Origin` on every POST and DELETE and
 * `Sec-Fetch-Site` on every request they make, and a page on another origin can forge neither; a
 * request with neither is not from a browser, and a cookie it carries was not lent by one. Throws
 * 403 `cross_origin`.
 */
export function refuseCrossOrigin(req: IncomingMessage, trusted: ReadonlySet<string>): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin(req, trusted)) {
    throw new UiRefusal(403, 'cross_origin', 'this request came from another origin');
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && !SAME_SITE_FETCHES.has(String(site).toLowerCase())) {
    throw new UiRefusal(403, 'cross_origin', 'this request came from another site');
  }
}
