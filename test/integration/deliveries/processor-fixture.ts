/** What the delivery processor's integration tests share: a fixed time, the epoch every shard is seeded at, silent metrics, one generic-webhook workflow. */
import type { DeliveryMetrics } from '../../../src/deliveries/index.js';

export const T0 = Date.parse('2026-04-01T00:00:00Z');
export const EPOCH = 1;

export const metrics: DeliveryMetrics = {
  webhooksProcessed: { inc: () => undefined },
  triggerMatchDuration: { startTimer: () => () => undefined, observe: () => undefined },
  lockfileCacheHits: { inc: () => undefined },
  lockfileCacheMisses: { inc: () => undefined },
};

export const workflow = { name: 'deploy', triggers: [{ _type: 'generic_webhook', source: 'hook', events: ['deploy'] }], jobs: [{ name: 'ship', steps: [{ run: 'true' }] }] };
