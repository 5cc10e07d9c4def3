/**
 * The web view's sign-in sessions (migration 022). A session is opened with a live admin token
 * and is worth what that token is worth: reading one joins `admin_tokens`, so a revoked token's
 * sessions stop working at once, on every node, without anyone deleting them.
 *
 * The cookie's secret (32 random bytes, base64url) is handed back once, at `open`; the table keeps
 * its SHA-256 only (the same hash as admin tokens, computed here because the secrets room sits
 * above the store), so a copy of the table signs nobody in.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.js';
import type { AdminTokenRole } from './schema.js';

/** What `open` hands back: the secret goes into the cookie and nowhere else. */
export interface OpenedUiSession {
  secret: string;
  csrf: string;
  expiresAt: Date;
}

/** A live session: whose token it was opened with, and what the page must echo on changes. */
export interface UiSession {
  tokenId: string;
  name: string;
  role: AdminTokenRole;
  csrf: string;
  expiresAt: Date;
}

const SECRET_BYTES = 32;

const sessionHash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

export class UiSessionRepository {
  constructor(private readonly db: Db) {}

  /** A new session for the admin token `tokenId`, ending `ttlMs` after `now`. */
  async open(tokenId: string, ttlMs: number, now: Date): Promise<OpenedUiSession> {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const csrf = randomBytes(SECRET_BYTES).toString('base64url');
    const expiresAt = new Date(now.getTime() + ttlMs);
    await this.db
      .insertInto('ui_sessions')
      .values({ secret_hash: sessionHash(secret), token_id: tokenId, csrf, created_at: now, expires_at: expiresAt })
      .execute();
    return { secret, csrf, expiresAt };
  }

  /** The session whose cookie holds `secret`, while it is unexpired and its token live; else null. */
  async find(secret: string, now: Date): Promise<UiSession | null> {
    const row = await this.db
      .selectFrom('ui_sessions')
      .innerJoin('admin_tokens', 'admin_tokens.id', 'ui_sessions.token_id')
      .select(['ui_sessions.token_id', 'admin_tokens.name', 'admin_tokens.role', 'ui_sessions.csrf', 'ui_sessions.expires_at'])
      .where('ui_sessions.secret_hash', '=', sessionHash(secret))
      .where('ui_sessions.expires_at', '>', now)
      .where('admin_tokens.revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? { tokenId: row.token_id, name: row.name, role: row.role, csrf: row.csrf, expiresAt: row.expires_at } : null;
  }

  /** Sign-out: the session is gone whether or not it was still live. True when a row was deleted. */
  async close(secret: string): Promise<boolean> {
    const result = await this.db.deleteFrom('ui_sessions').where('secret_hash', '=', sessionHash(secret)).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Delete the sessions expired at `now`; returns how many. */
  async sweep(now: Date): Promise<number> {
    const result = await this.db.deleteFrom('ui_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
