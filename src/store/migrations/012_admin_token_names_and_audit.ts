/**
 * 012: admin token names become identities, and what admins do to tokens is recorded.
 *
 * A name is who approves a held job (an environment's `required_reviewers`) and who acted in the
 * audit, so it must name one live token: a partial unique index, revoked tokens keeping theirs.
 * Live duplicates could exist before: a changed KICI_BOOTSTRAP_ADMIN_TOKEN registered a second
 * live `bootstrap`, and two first starts racing made two `first-start`. The oldest keeps the name
 * (created_at, then id); each other becomes `<name>-<id>`, deterministic on every node, and the
 * rename is itself an audit event of `system`.
 *
 * `audit_events` is append-only history: no foreign keys (a row outlives what it names), the
 * actor's name as it was (names are reused after a revoke; `actor_token_id` says which token),
 * and never a secret: `details` holds display prefixes and reasons, not token values. `id` is an
 * identity so "newest first" and the `before` cursor need no clock agreement between nodes.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE TABLE audit_events (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at timestamptz NOT NULL DEFAULT now(),
     actor text NOT NULL CHECK (actor <> ''),
     actor_token_id text,
     action text NOT NULL CONSTRAINT audit_events_action_shape CHECK (action ~ '^[a-z][a-z_]*(\\.[a-z][a-z_]*)+$'),
     subject_id text NOT NULL CHECK (subject_id <> ''),
     subject_name text,
     details jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT audit_events_details_object CHECK (jsonb_typeof(details) = 'object'),
     org_id text
   )`,
  // The two filters of `kici-admin audit`, each walked newest first.
  `CREATE INDEX audit_events_action ON audit_events (action, id)`,
  `CREATE INDEX audit_events_actor ON audit_events (actor, id)`,

  `WITH ranked AS (
     SELECT id, name, row_number() OVER (PARTITION BY name ORDER BY created_at, id) AS nth
       FROM admin_tokens WHERE revoked_at IS NULL
   ), renamed AS (
     UPDATE admin_tokens t SET name = t.name || '-' || t.id
       FROM ranked r WHERE t.id = r.id AND r.nth > 1
     RETURNING t.id, r.name AS old_name, t.name AS new_name
   )
   INSERT INTO audit_events (actor, action, subject_id, subject_name, details)
   SELECT 'system', 'admin_token.rename', id, new_name,
          jsonb_build_object('from', old_name, 'reason', 'migration 012: names are unique among live admin tokens')
     FROM renamed ORDER BY id`,
  `CREATE UNIQUE INDEX admin_tokens_live_name ON admin_tokens (name) WHERE revoked_at IS NULL`,
];

// Renamed tokens keep their new names: the old ones were ambiguous, and nothing needs them back.
const DOWN: string[] = ['DROP INDEX IF EXISTS admin_tokens_live_name', 'DROP TABLE IF EXISTS audit_events'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
