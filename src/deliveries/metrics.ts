/** `kici_webhooks_processed_total{result}`: KiCI's three decisions (a bad lock file is an `error`). */
export const WEBHOOK_RESULTS = ['matched', 'skipped', 'error'] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];

/**
 * The counters delivery processing feeds. A port rather than the server's Prometheus registry, so
 * the room owns what it reports and a simulator can count without prom-client.
 */
export interface DeliveryMetrics {
  webhooksProcessed: { inc(labels: { result: WebhookResult }): void };
  triggerMatchDuration: { startTimer(): () => unknown; observe(seconds: number): void };
  lockfileCacheHits: { inc(): void };
  lockfileCacheMisses: { inc(): void };
}
