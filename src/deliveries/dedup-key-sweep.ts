import type { Clock } from '../clock/index.js';
import type { Store } from '../store/index.js';

/** Expired dedup keys only cost space (an expired key is taken over on its next use), so a slow pace is enough. */
const DEDUP_SWEEP_MS = 5 * 60 * 1000;

/**
 * Housekeeping duty: keys past their dedup window (24 h unless a delivery set its own) are
 * deleted; without it the table keeps one row per delivery ever received.
 */
export function dedupKeySweep(
  store: Pick<Store, 'deliveries'>,
  clock: Pick<Clock, 'now'>,
  /** This node: the delete goes through only while its claim of the term is the term of record. */
  nodeId?: string,
): { name: string; everyMs: number; run(term?: number): Promise<void> } {
  return {
    name: 'dedup-keys',
    everyMs: DEDUP_SWEEP_MS,
    async run(term?: number) {
      await store.deliveries.sweepDedupKeys(new Date(clock.now()), nodeId !== undefined && term !== undefined ? { term, node: nodeId } : undefined);
    },
  };
}
