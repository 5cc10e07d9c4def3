/**
 * Values that need care to mean the same thing on both drivers.
 */
import { type RawBuilder, sql } from 'kysely';

/**
 * A jsonb parameter. `pg` would turn a JS array into a PostgreSQL array literal, so the value is
 * always sent as JSON text and cast on the server.
 */
export function jsonb(value: unknown): RawBuilder<unknown> {
  return sql`cast(${JSON.stringify(value ?? null)}::text as jsonb)`;
}

/** bytea comes back as Buffer from `pg` and Uint8Array from PGlite. */
export function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
