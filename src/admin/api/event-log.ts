import { z } from 'zod';
import type { DeliveryRecord } from '../../store/index.js';
import { DELIVERY_STATUSES } from '../../vocabulary/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, type RouteTable } from './http.js';
import { removedOn } from './retention.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

// Headers are left out: the intake already strips the sensitive ones, but an operator reading the
// event log wants outcomes, and leaving them out keeps anything a sender put there off this route.
function deliveryView(d: DeliveryRecord) {
  return {
    id: d.deliveryId,
    orgId: d.orgId,
    sourceId: d.sourceId,
    sourceKind: d.sourceKind,
    eventType: d.eventType,
    action: d.action,
    status: d.status,
    matchedCount: d.matchedCount,
    error: d.error,
    trace: d.trace,
    payloadSize: d.payloadSize,
    receivedAt: iso(d.receivedAt),
    processedAt: iso(d.processedAt),
    // A delivery kept for a later try (GitHub unreachable): how many tries so far, and when the next may come.
    attempts: d.attempts,
    retryAfter: d.status === 'received' ? iso(d.retryAfter) : null,
    // Set once retention dropped the raw body; the row itself is kept.
    payloadRemovedAt: iso(d.payloadRemovedAt ?? null),
  };
}

const listQuery = z.object({
  orgId: z.string().min(1).max(100).optional(),
  sourceId: z.string().min(1).max(200).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The event log: one row per webhook delivery with its outcome and decision trace, newest first. */
export function eventLogRoutes(deps: AdminDeps): RouteTable {
  return [
    ['GET', '/event-log', async (req) => {
      const q = listQuery.safeParse(withAliases(req.query));
      if (!q.success) throw apiError(400, 'invalid_request', `${q.error.issues[0].path.join('.')}: ${q.error.issues[0].message}`);
      const rows = await deps.store.deliveries.list(q.data);
      return { status: 200, body: { deliveries: rows.map(deliveryView) } };
    }],
    ['GET', '/event-log/:deliveryId', async (req) => {
      const org = req.query.get('orgId') ?? req.query.get('org') ?? undefined;
      const found = await deps.store.deliveries.listById(req.params.deliveryId);
      const matching = org === undefined ? found : found.filter((d) => d.orgId === org);
      if (matching.length === 0) throw apiError(404, 'not_found', `no delivery ${req.params.deliveryId}${org ? ` in ${org}` : ''}`);
      if (matching.length > 1) throw apiError(409, 'ambiguous', `delivery ${req.params.deliveryId} exists in several organisations (${matching.map((d) => d.orgId).join(', ')}): name one with org`);
      const d = matching[0];
      if (req.query.get('payload') !== 'true') return { status: 200, body: deliveryView(d) };
      // No body to hand back: say why, rather than an empty body the sender never sent.
      if (d.payloadRemovedAt) {
        return { status: 200, body: { ...deliveryView(d), body: null, bodyEncoding: null, payloadRemoved: `payload ${removedOn(d.payloadRemovedAt)}` } };
      }
      // The body only on request, and nothing else of the raw request: the headers stay out.
      const full = await deps.store.deliveries.getWithBody(d.orgId, d.deliveryId);
      return { status: 200, body: { ...deliveryView(d), ...bodyView(full?.body ?? Buffer.alloc(0)) } };
    }],
  ];
}

/** `org`/`source` are the CLI's spellings; `orgId`/`sourceId` the API's. */
function withAliases(query: URLSearchParams): Record<string, string> {
  const q = Object.fromEntries(query);
  if (q.org !== undefined && q.orgId === undefined) q.orgId = q.org;
  if (q.source !== undefined && q.sourceId === undefined) q.sourceId = q.source;
  delete q.org;
  delete q.source;
  return q;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function bodyView(body: Buffer): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  try {
    return { body: strictUtf8.decode(body), bodyEncoding: 'utf8' };
  } catch {
    return { body: body.toString('base64'), bodyEncoding: 'base64' };
  }
}
