/** What intake needs to know about a webhook source; the store's row is adapted to this shape. */
export type RouteKind = 'github' | 'git' | 'generic';
export type Verification = 'hmac_sha256' | 'bearer_token' | 'none';

export interface WebhookSource {
  id: string;
  orgId: string;
  kind: RouteKind;
  name: string;
  /** findSource should already hide disabled sources; intake checks again so a slip stays a 404. */
  enabled?: boolean;
  /** GitHub and git sources always verify with HMAC; only generic sources choose. */
  verification: Verification;
  /** Generic only: header carrying the signature or token (defaults per method). */
  signatureHeader?: string;
  eventTypeHeader?: string;
  eventTypePath?: string;
  /** Deliveries per minute; undefined takes the kind's default, 0 means unlimited. */
  rateLimitPerMinute?: number;
  maxPayloadBytes?: number;
  /** Empty or undefined accepts every event type. */
  allowedEvents?: readonly string[];
}

const MiB = 1024 * 1024;

/** Nothing larger is read on any webhook route, whatever the source allows. */
export const ROUTE_BODY_CAP_BYTES = 25 * MiB;

export function payloadLimitBytes(source: WebhookSource): number {
  const fallback = source.kind === 'generic' ? 1 * MiB : 25 * MiB;
  return Math.min(source.maxPayloadBytes ?? fallback, ROUTE_BODY_CAP_BYTES);
}

/** Generic sources are open to the internet at large, so they get a limit unless told otherwise. */
export function rateLimitPerMinute(source: WebhookSource): number {
  if (source.rateLimitPerMinute !== undefined) return source.rateLimitPerMinute;
  return source.kind === 'generic' ? 600 : 0;
}

/** The header that carries the signature or token for a source. */
export function authHeaderName(source: WebhookSource): string {
  if (source.kind === 'github') return 'x-hub-signature-256';
  if (source.kind === 'git') return 'x-signature-256';
  if (source.signatureHeader) return source.signatureHeader;
  return source.verification === 'bearer_token' ? 'authorization' : 'x-signature-256';
}
