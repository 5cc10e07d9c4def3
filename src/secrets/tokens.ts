/**
 * Bearer tokens for agents (`kat_` + 64 hex) and admins (`kadm_` + 64 hex). Only a SHA-256 hash
 * and a short display prefix are ever stored; comparisons are constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const AGENT_TOKEN_PREFIX = 'kat_';
export const ADMIN_TOKEN_PREFIX = 'kadm_';
/** Characters of the token kept for display (e.g. `kat_1a2b3c4d`). */
export const DISPLAY_PREFIX_LENGTH = 12;

export interface IssuedToken {
  /** The plaintext: show it once, never store or log it. */
  token: string;
  /** sha256 hex of the token: what the store keeps. */
  hash: string;
  /** First 12 characters, for lists. */
  prefix: string;
}

function issue(kindPrefix: string): IssuedToken {
  const token = kindPrefix + randomBytes(32).toString('hex');
  return { token, hash: hashToken(token), prefix: displayPrefix(token) };
}

export function issueAgentToken(): IssuedToken {
  return issue(AGENT_TOKEN_PREFIX);
}

export function issueAdminToken(): IssuedToken {
  return issue(ADMIN_TOKEN_PREFIX);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function displayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** Shape check before touching the store: cheap rejection of garbage. */
export function looksLikeAgentToken(token: string): boolean {
  return /^kat_[0-9a-f]{64}$/.test(token);
}

export function looksLikeAdminToken(token: string): boolean {
  return /^kadm_[0-9a-f]{64}$/.test(token);
}

/** Constant-time equality of two strings (lengths may differ; that alone is not hidden). */
export function tokensEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** Does `token` hash to `storedHash`? Compares the hashes in constant time. */
export function tokenMatchesHash(token: string, storedHash: string): boolean {
  return tokensEqual(hashToken(token), storedHash);
}
