import type { HeaderBag } from './headers.js';
import { headerValue } from './headers.js';
import { acceptedTypes, encodingOf, mediaType, type BodyEncoding } from './body-encodings.js';

/** 415: the content type is not one the route takes; 400: the body does not parse as its type. */
export type ParsedBody = { ok: true; payload: unknown } | { ok: false; status: 400 | 415; reason: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: Buffer): string | null {
  try {
    return strictUtf8.decode(raw);
  } catch {
    return null;
  }
}

const unparseable = (reason: string): ParsedBody => ({ ok: false, status: 400, reason });

function parseJson(text: string): ParsedBody {
  try {
    return { ok: true, payload: JSON.parse(text) };
  } catch {
    // The parser's message quotes the body; keep it out of replies and logs.
    return unparseable('body is not valid JSON');
  }
}

/** GitHub's form encoding wraps the JSON in a `payload` field; a form without one is not GitHub's. */
function parseForm(text: string): ParsedBody {
  const wrapped = new URLSearchParams(text).get('payload');
  if (wrapped === null) return unparseable('form body has no payload field');
  const inner = parseJson(wrapped);
  return inner.ok ? inner : unparseable('form field payload is not valid JSON');
}

/**
 * Parses a body by its declared content type, under the one rule of every webhook route: JSON
 * (`application/json`, a `+json` type, or no content type) is parsed as JSON; the form encoding
 * only where the route takes it; any other type is refused (415) unread, so a delivery kici cannot
 * read is never accepted and then quietly matched against nothing. An empty body is `{}` (pings
 * often carry none).
 */
export function parseBody(rawBody: Buffer, contentType: string | undefined, encodings: readonly BodyEncoding[] = ['json']): ParsedBody {
  const encoding = encodingOf(mediaType(contentType));
  if (encoding === null || !encodings.includes(encoding)) {
    return { ok: false, status: 415, reason: `unsupported content type: this route accepts ${acceptedTypes(encodings)}` };
  }
  const text = decode(rawBody);
  if (text === null) return unparseable('body is not valid UTF-8');
  if (text.trim() === '') return { ok: true, payload: {} };
  return encoding === 'form' ? parseForm(text) : parseJson(text);
}

const ALWAYS_SENSITIVE = [
  'authorization',
  'cookie',
  'set-cookie',
  'proxy-authorization',
  'x-api-key',
  'x-auth-token',
  'x-hub-signature',
  'x-hub-signature-256',
  'x-signature-256',
  'x-signature',
];

/**
 * Headers safe to store in the event log: credentials and signatures removed (a stored signature
 * would let anyone holding the log replay the delivery elsewhere). `extra` names a source's own
 * signature or token header. Keys come out lower-case, repeated values joined.
 */
export function stripSensitiveHeaders(headers: HeaderBag, extra: readonly string[] = []): Record<string, string> {
  const drop = new Set([...ALWAYS_SENSITIVE, ...extra.map((name) => name.toLowerCase())]);
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (drop.has(name) || value === undefined) continue;
    kept[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return kept;
}

export function contentTypeOf(headers: HeaderBag): string | undefined {
  return headerValue(headers, 'content-type');
}
