/**
 * 022_ui_sessions: the web view's sign-in sessions (issue 20). A browser trades an admin token for
 * a session cookie; the session lives here, not in one node's memory, so whichever coordinator a
 * load balancer picks serves it.
 *
 * - `secret_hash`: SHA-256 (hex) of the cookie's random secret; the secret itself is never stored,
 *   so reading this table does not let anyone sign in.
 * - `token_id`: the admin token signed in with. A session is only as good as its token: reading
 *   one joins `admin_tokens` and requires the token live, so a revocation ends its sessions at once.
 * - `csrf`: the value the page must echo in `X-CSRF-Token` on every change (not a secret from the
 *   signed-in page, which is handed it; a secret from other origins, which cannot read it).
 * - `expires_at`: indexed, so the sweep of expired sessions reads only what it deletes.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE TABLE ui_sessions (
     secret_hash text PRIMARY KEY,
     token_id text NOT NULL REFERENCES admin_tokens (id),
     csrf text NOT NULL,
     created_at timestamptz NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
  'CREATE INDEX ui_sessions_expires_at ON ui_sessions (expires_at)',
];

const DOWN: string[] = ['DROP TABLE IF EXISTS ui_sessions'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
