import type { HeaderBag } from './headers.js';
import { headerValue } from './headers.js';
import type { WebhookSource } from './source.js';

/** Reads a dot path such as `$.event.type` or `action`; array indices are plain segments (`items.0`). */
export function valueAtPath(body: unknown, path: string): unknown {
  const trimmed = path.trim().replace(/^\$\.?/, '');
  if (trimmed === '') return undefined;
  let current: unknown = body;
  for (const segment of trimmed.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function asEventName(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

function gitEventType(body: unknown): string {
  const ref = valueAtPath(body, 'ref');
  return typeof ref === 'string' && ref.startsWith('refs/tags/') ? 'tag' : 'push';
}

function genericEventType(source: WebhookSource, headers: HeaderBag, body: unknown): string {
  const fromHeader = source.eventTypeHeader ? asEventName(headerValue(headers, source.eventTypeHeader)) : undefined;
  if (fromHeader) return fromHeader;
  const fromPath = source.eventTypePath ? asEventName(valueAtPath(body, source.eventTypePath)) : undefined;
  if (fromPath) return fromPath;
  return asEventName(headerValue(headers, 'x-event-type')) ?? 'default';
}

/** The delivery's event type, first match wins, per route kind (DESIGN §5 route table). */
export function eventType(source: WebhookSource, headers: HeaderBag, body: unknown): string {
  if (source.kind === 'github') return asEventName(headerValue(headers, 'x-github-event')) ?? 'unknown';
  if (source.kind === 'git') return gitEventType(body);
  return genericEventType(source, headers, body);
}
