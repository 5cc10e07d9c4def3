import { hashToken } from '../../secrets/index.js';
import type { AdminTokenRepository } from '../../store/index.js';

/** An admin credential checked: valid, or why not (the reason is the 401's message and the log's). */
export type AdminCheck = { ok: true } | { ok: false; reason: string };

/**
 * Bearer admin tokens, looked up by hash. It answers rather than throws: the server decides
 * between 401 and 429, counts the failure and logs it with the client's address.
 */
export async function checkAdmin(tokens: AdminTokenRepository, authorization: string | undefined): Promise<AdminCheck> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  if (!token) return { ok: false, reason: 'an admin bearer token is required' };
  const record = await tokens.findActive(hashToken(token));
  return record ? { ok: true } : { ok: false, reason: 'admin token is invalid or revoked' };
}
