import { hashToken } from '../../secrets/index.js';
import type { AdminTokenRepository } from '../../store/index.js';
import type { AdminCaller } from './http.js';

/**
 * An admin credential checked: valid, with whose token it is, or why not (the reason is the 401's
 * message and the log's).
 */
export type AdminCheck = { ok: true; caller: AdminCaller } | { ok: false; reason: string };

/**
 * Bearer admin tokens, looked up by hash. It answers rather than throws: the server decides
 * between 401 and 429, counts the failure and logs it with the client's address.
 */
export async function checkAdmin(tokens: AdminTokenRepository, authorization: string | undefined): Promise<AdminCheck> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  if (!token) return { ok: false, reason: 'an admin bearer token is required' };
  const record = await tokens.findActive(hashToken(token));
  return record ? { ok: true, caller: { tokenId: record.id, name: record.name, role: record.role } } : { ok: false, reason: 'admin token is invalid or revoked' };
}
