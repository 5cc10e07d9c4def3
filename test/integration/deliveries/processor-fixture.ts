/** What the delivery processor's integration tests share: a fixed time, the epoch every shard is seeded at, silent metrics, one generic-webhook workflow. */
import type { DeliveryMetrics } from '../../../src/deliveries/index.js';
import type { Source, Store } from '../../../src/store/index.js';
import { uniqueOrg } from '../../support/store-drivers.js';

export const T0 = Date.parse('2026-04-01T00:00:00Z');
export const EPOCH = 1;

export const metrics: DeliveryMetrics = {
  webhooksProcessed: { inc: () => undefined },
  triggerMatchDuration: { startTimer: () => () => undefined, observe: () => undefined },
  lockfileCacheHits: { inc: () => undefined },
  lockfileCacheMisses: { inc: () => undefined },
};

export const workflow = { name: 'deploy', triggers: [{ _type: 'generic_webhook', source: 'hook', events: ['deploy'] }], jobs: [{ name: 'ship', steps: [{ run: 'true' }] }] };

/** An organisation with a generic source and a git source that registered `deploy`. */
export async function organisation(store: Store): Promise<{ orgId: string; generic: Source }> {
  const orgId = uniqueOrg();
  const generic = await store.sources.create({ orgId, kind: 'generic', name: 'hook', verification: 'none' });
  const git = await store.sources.create({ orgId, kind: 'git', name: 'repo', url: 'file:///nowhere', verification: 'hmac_sha256' });
  await store.registrations.replace(git.id, 'a'.repeat(40), [{ workflowName: 'deploy', triggers: workflow.triggers, lockfile: workflow }], new Date(T0));
  return { orgId, generic };
}
