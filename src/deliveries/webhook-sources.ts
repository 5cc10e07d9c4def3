import type { Source } from '../store/index.js';
import type { WebhookSource } from '../webhooks/index.js';

/** The store's source row as webhook intake sees it (generic options live in the row's config). */
export function toWebhookSource(s: Source): WebhookSource {
  const c = s.config as {
    signatureHeader?: string;
    eventTypeHeader?: string;
    eventTypePath?: string;
    rateLimit?: number;
    maxPayload?: number;
    allowedEvents?: string[];
  };
  return {
    id: s.id,
    orgId: s.orgId,
    kind: s.kind,
    name: s.name,
    enabled: s.enabled,
    verification: s.verification,
    signatureHeader: c.signatureHeader,
    eventTypeHeader: c.eventTypeHeader,
    eventTypePath: c.eventTypePath,
    rateLimitPerMinute: c.rateLimit,
    maxPayloadBytes: c.maxPayload,
    allowedEvents: c.allowedEvents,
  };
}
