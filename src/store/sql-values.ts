/**
 * Values that need care to mean the same thing on both drivers.
 */
import { type RawBuilder, sql } from 'kysely';

/**
 * A jsonb parameter. `pg` would turn a JS array into a PostgreSQL array literal, so the value is
 * always sent as JSON text and cast on the server.
 */
export function jsonb(value: unknown): RawBuilder<unknown> {
  return sql`cast(${jsonText(value ?? null)}::text as jsonb)`;
}

/**
 * JSON text PostgreSQL accepts. A string cut in the middle of a surrogate pair (an emoji halved by
 * a length cap) is valid in JavaScript, and JSON.stringify escapes its lone half as `\udXXX`,
 * which PostgreSQL's JSON parser refuses; such halves become U+FFFD, as a text parameter's do.
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  // Only a lone surrogate is written as a \ud8xx–\udfff escape; anything else goes as is.
  return LONE_SURROGATE_ESCAPE.test(text) ? JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v)) : text;
}

const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** bytea comes back as Buffer from `pg` and Uint8Array from PGlite. */
export function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
