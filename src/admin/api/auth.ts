import { hashToken } from '../../secrets/index.js';
import { findActiveAdminToken, type Db } from '../../store/index.js';
import { apiError } from './http.js';

/** Bearer admin tokens, looked up by hash; a missing or unknown token is a 401 with no detail. */
export async function requireAdmin(db: Db, authorization: string | undefined): Promise<void> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  if (!token) throw apiError(401, 'unauthorized', 'an admin bearer token is required');
  const record = await findActiveAdminToken(db, hashToken(token));
  if (!record) throw apiError(401, 'unauthorized', 'admin token is invalid or revoked');
}
