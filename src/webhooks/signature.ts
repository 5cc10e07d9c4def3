import { createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 digests are 32 bytes, 64 hex characters. */
const DIGEST_BYTES = 32;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

export interface HmacOptions {
  /** GitHub and git routes insist on `sha256=`; generic sources also accept bare hex. */
  requirePrefix: boolean;
}

/** `sha256=<hex>` of the body: what the git hook and tests send, and what GitHub sends. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks an HMAC-SHA256 signature header against the raw body. The length is checked on the hex
 * text and again after decoding, because Buffer.from(hex) silently drops characters that are not
 * hex and timingSafeEqual throws on unequal lengths.
 */
export function verifyHmacSha256(
  secret: string,
  rawBody: Buffer,
  header: string | undefined,
  options: HmacOptions,
): boolean {
  if (header === undefined) return false;
  const trimmed = header.trim();
  const hasPrefix = trimmed.toLowerCase().startsWith('sha256=');
  if (!hasPrefix && options.requirePrefix) return false;
  const hex = hasPrefix ? trimmed.slice('sha256='.length) : trimmed;
  if (!HEX_DIGEST.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  if (given.length !== DIGEST_BYTES) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(given, expected);
}

/**
 * Checks a bearer token. The `Bearer ` prefix is optional (some senders put the bare token in a
 * custom header). Lengths must match; the compare itself is constant time.
 */
export function verifyBearer(token: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  let presented = header.trim();
  if (/^bearer\s+/i.test(presented)) presented = presented.replace(/^bearer\s+/i, '');
  const given = Buffer.from(presented, 'utf8');
  const expected = Buffer.from(token, 'utf8');
  if (given.length === 0 || given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
