import type { HeaderBag } from './headers.js';
import { headerValue } from './headers.js';

export type ParsedBody = { ok: true; payload: unknown } | { ok: false; reason: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: Buffer): string | null {
  try {
    return strictUtf8.decode(raw);
  } catch {
    return null;
  }
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

function parseJson(text: string): ParsedBody {
  try {
    return { ok: true, payload: JSON.parse(text) };
  } catch {
    // The parser's message quotes the body; keep it out of replies and logs.
    return { ok: false, reason: 'body is not valid JSON' };
  }
}

/** GitHub's form encoding wraps the JSON in a `payload` field; other senders post plain fields. */
function parseForm(text: string): ParsedBody {
  const params = new URLSearchParams(text);
  const wrapped = params.get('payload');
  if (wrapped !== null) {
    const inner = parseJson(wrapped);
    return inner.ok ? inner : { ok: false, reason: 'form field payload is not valid JSON' };
  }
  return { ok: true, payload: Object.fromEntries(params.entries()) };
}

/**
 * Parses a body by its declared content type. An empty body is `{}` (pings often carry none). With
 * no content type JSON is tried, then the raw text is kept, so nothing a sender posts is lost.
 */
export function parseBody(rawBody: Buffer, contentType: string | undefined): ParsedBody {
  const type = mediaType(contentType);
  const text = decode(rawBody);
  if (text === null) {
    if (isJsonType(type) || type === 'application/x-www-form-urlencoded') {
      return { ok: false, reason: 'body is not valid UTF-8' };
    }
    return { ok: true, payload: { body: rawBody.toString('base64'), encoding: 'base64' } };
  }
  if (text.trim() === '') return { ok: true, payload: {} };
  if (isJsonType(type)) return parseJson(text);
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type === '') {
    const attempt = parseJson(text);
    if (attempt.ok) return attempt;
  }
  return { ok: true, payload: { body: text } };
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
