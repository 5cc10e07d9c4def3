import type { Clock } from '../clock/index.js';
import type { Store } from '../store/index.js';

/** Expired dedup keys only cost space (an expired key is taken over on its next use), so a slow pace is enough. */
const DEDUP_SWEEP_MS = 5 * 60 * 1000;

/**
 * Housekeeping duty: keys past their dedup window (24 h unless a delivery set its own) are
 * deleted; without it the table keeps one row per delivery ever received.
 */
export function dedupKeySweep(store: Pick<Store, 'deliveries'>, clock: Pick<Clock, 'now'>): { name: string; everyMs: number; run(): Promise<void> } {
  return {
    name: 'dedup-keys',
    everyMs: DEDUP_SWEEP_MS,
    async run() {
      await store.deliveries.sweepDedupKeys(new Date(clock.now()));
    },
  };
}
