/**
 * 016_secret_backends: the secret backends besides the database (seed 000's `secret_backends`,
 * "backends are managed through the kici-admin backend CLI commands, which store configuration
 * (encrypted) in the secret_backends database table").
 *
 * A backend is **global** (as KiCI's): one row serves every organisation, whose secrets it keeps
 * under `{basePath}/{orgId}/…`; bindings, which are per organisation, name it. Its configuration
 * (URL, auth method, token or AppRole credentials, mount, base path, namespace) is one JSON object
 * sealed with the master key like a secret (ciphertext, IV, tag and key version in four columns);
 * the associated data binds it to the backend's name, so a config copied onto another row fails to
 * open (src/secrets/secret-backends.ts).
 *
 * `backend_type` takes KiCI's two values, but the database backend is implicit here — always
 * there, named `pg` — so no `pg` row is seeded and the name `pg` is refused (CHECK, and the API
 * says why). Only `vault` rows are ever written and read; a `vault` row must carry its config.
 * `health_status` is what the last `backend test` found. KiCI's sync columns (`sync_interval_ms`,
 * `last_sync_at`, `scope_count`) are left out: scopes are listed at each dispatch, never synced.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE TABLE secret_backends (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     name text NOT NULL UNIQUE CHECK (name <> '' AND name <> 'pg'),
     backend_type text NOT NULL CHECK (backend_type IN ('pg', 'vault')),
     config_ciphertext bytea,
     config_iv bytea,
     config_tag bytea,
     config_key_version integer,
     scope_filter text NOT NULL DEFAULT '**' CHECK (scope_filter <> ''),
     enabled boolean NOT NULL DEFAULT true,
     health_status text NOT NULL DEFAULT 'unknown' CHECK (health_status IN ('unknown', 'healthy', 'unhealthy')),
     last_health_check_at timestamptz,
     last_error text,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CHECK (backend_type <> 'vault' OR (config_ciphertext IS NOT NULL AND config_iv IS NOT NULL AND config_tag IS NOT NULL AND config_key_version IS NOT NULL))
   )`,
];

const DOWN: string[] = ['DROP TABLE IF EXISTS secret_backends'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
