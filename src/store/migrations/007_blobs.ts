/**
 * Object storage in the database, for clusters whose orchestrators share one PostgreSQL but no
 * filesystem (the `database` storage backend; the filesystem one keeps these under the data dir).
 *
 * - `blobs`: one row per key. The key collates "C", so `ORDER BY key` is byte order (what the
 *   filesystem store's sort gives for the ASCII keys `assertBlobKey` allows) whatever the
 *   database's locale, and `LIKE 'prefix/%'` can use the primary key.
 * - `step_logs`: one row per step log with its size in bytes, the truncation notice included.
 *   Every append locks this row first, so a size check and its write never interleave with another
 *   node's append; a size above the cap is the "notice written" mark, as the file length is on disk.
 * - `step_log_chunks`: the bytes, one row per append, keyed by the byte offset it starts at. A read
 *   from an offset finds its first chunk through the index, and an append never rewrites earlier
 *   bytes (appending to one bytea value would copy the whole log, up to the cap, on every append).
 *   Chunks name their log by its surrogate id so each row carries a few bytes of key, not three ids.
 */
import { sql, type Kysely } from 'kysely';

const UP = [
  `CREATE TABLE blobs (
     key text COLLATE "C" PRIMARY KEY,
     bytes bytea NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE step_logs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     run_id text NOT NULL,
     job_id text NOT NULL,
     step_index integer NOT NULL CHECK (step_index >= 0),
     size integer NOT NULL CHECK (size >= 0),
     UNIQUE (run_id, job_id, step_index)
   )`,
  `CREATE TABLE step_log_chunks (
     log_id bigint NOT NULL REFERENCES step_logs (id) ON DELETE CASCADE,
     start_offset integer NOT NULL CHECK (start_offset >= 0),
     bytes bytea NOT NULL,
     PRIMARY KEY (log_id, start_offset)
   )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['step_log_chunks', 'step_logs', 'blobs']) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
}
