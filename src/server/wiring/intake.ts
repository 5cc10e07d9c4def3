import type { Clock } from '../../clock/index.js';
import type { DeliveryRepository } from '../../store/index.js';
import { SlidingWindowRateLimit, admitDelivery, type IntakeOutcome, type IntakePorts, type IntakeRequest } from '../../webhooks/index.js';
import { toWebhookSource, type SourceCatalog } from '../../deliveries/index.js';

/**
 * Webhook intake over this node's store: sources and secrets from the catalog, the delivery row
 * (raw body, dedup key) committed in one transaction before the 202.
 */
export function webhookIntake(deliveries: DeliveryRepository, catalog: SourceCatalog, clock: Clock): (request: IntakeRequest) => Promise<IntakeOutcome> {
  const ports: IntakePorts = {
    clock,
    rateLimit: new SlidingWindowRateLimit(clock),
    // A GitHub delivery names its App (X-GitHub-Hook-Installation-Target-ID), the other routes the source id.
    findSource: async (orgId, route, sourceId) => {
      const s = !sourceId ? null : route === 'github' ? await catalog.githubApp(sourceId) : await catalog.source(sourceId);
      return s && s.orgId === orgId ? toWebhookSource(s) : null;
    },
    sourceSecret: (s) => catalog.secret(s, 'webhookSecret'),
    previousSecret: (s) => catalog.previousWebhookSecret(s),
    // The commit below settles duplicates atomically; a separate look-up first would only race it.
    seenDelivery: async () => null,
    commitDelivery: async (d) => {
      const result = await deliveries.record(
        {
          orgId: d.orgId,
          deliveryId: d.deliveryId,
          sourceId: d.sourceId,
          sourceKind: d.sourceKind,
          eventType: d.eventType,
          action: d.action ?? null,
          headers: d.headers,
          body: d.rawBody,
          dedupKey: d.dedupKey ?? undefined,
        },
        d.receivedAt,
      );
      if (result.outcome === 'duplicate') return { duplicateOf: { deliveryId: result.first.deliveryId, status: result.first.status } };
      // Filtered deliveries are kept for the event log (and dedup) but start nothing.
      if (d.status === 'filtered') await deliveries.complete(d.orgId, d.deliveryId, { status: 'filtered', matchedCount: 0 }, new Date(clock.now()), 'received');
    },
  };
  return (request) => admitDelivery(request, ports);
}
