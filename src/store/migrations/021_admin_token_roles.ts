/**
 * 021_admin_token_roles: an admin token is an `admin` (every route) or a `viewer` (reads runs,
 * agents, the event log and the cluster, and votes on the holds that name it). Every token made
 * before this migration keeps what it could do: `admin`.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  "ALTER TABLE admin_tokens ADD COLUMN role text NOT NULL DEFAULT 'admin'",
  "ALTER TABLE admin_tokens ADD CONSTRAINT admin_tokens_role CHECK (role IN ('admin', 'viewer'))",
];

const DOWN: string[] = ['ALTER TABLE admin_tokens DROP CONSTRAINT IF EXISTS admin_tokens_role', 'ALTER TABLE admin_tokens DROP COLUMN IF EXISTS role'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
