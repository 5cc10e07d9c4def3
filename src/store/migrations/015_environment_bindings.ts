/**
 * 015_environment_bindings: which secret scopes an environment reaches (seed 000's
 * `environment_bindings`, "scope-to-environment secret bindings").
 *
 * A binding is a picomatch glob over scope paths (`aws/**`, or exactly `aws/prod`) and, optionally,
 * the name of the secret backend it is limited to (null: any backend). A job's step that names a
 * secret gets it from the scopes its environments' bindings reach (src/secrets/scope-resolution.ts).
 *
 * (org_id, environment_id) references the environment's own pair, as its variables do: a binding
 * cannot name another org's environment, and it goes with its environment. The pair (pattern,
 * backend) is bound once per environment; a null backend is one value there (the unique index
 * reads it as ''), so `aws/**` cannot be bound twice "for any backend". Operators may write rows by
 * hand (the seed's SQL), so the id defaults in the database and the CHECKs refuse the empty
 * strings the API never sends.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE TABLE environment_bindings (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     org_id text NOT NULL,
     environment_id uuid NOT NULL,
     scope_pattern text NOT NULL CHECK (scope_pattern <> ''),
     backend text CHECK (backend <> ''),
     created_at timestamptz NOT NULL DEFAULT now(),
     FOREIGN KEY (org_id, environment_id) REFERENCES environments (org_id, id) ON DELETE CASCADE
   )`,
  // unique (environment_id, scope_pattern, backend), a null backend counted as one value.
  `CREATE UNIQUE INDEX environment_bindings_unique ON environment_bindings (environment_id, scope_pattern, coalesce(backend, ''))`,
];

const DOWN: string[] = ['DROP TABLE IF EXISTS environment_bindings'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
