import type { RetentionPolicy } from './policy.js';
import type { Retention, RetentionCounts } from './retention.js';

/**
 * A tick a minute, one batch of each kind per tick (500 bodies, 100 runs' logs): up to 720 000
 * bodies and 144 000 runs a day, so even a first run over years of history catches up in days
 * without ever holding the node for long. `kici-admin runs purge` drains at once when that is too slow.
 */
export const RETENTION_TICK_MS = 60_000;

/**
 * Coordinator duty: remove what the policy no longer keeps. Its marks go through only while this
 * node's claim of the term is the term of record (as the dedup-key sweep's delete does).
 */
export function retentionDuty(
  retention: Retention,
  policy: RetentionPolicy,
  /** This node: the marks are fenced by its claim of the term. */
  nodeId?: string,
  /** What a tick removed, when it removed anything (the composition root logs it). */
  report?: (counts: RetentionCounts) => void,
): { name: string; everyMs: number; run(term?: number): Promise<void> } {
  return {
    name: 'retention',
    everyMs: RETENTION_TICK_MS,
    async run(term?: number) {
      const claim = nodeId !== undefined && term !== undefined ? { term, node: nodeId } : undefined;
      const counts = await retention.sweep(policy, claim);
      if (counts.payloads > 0 || counts.logRuns > 0) report?.(counts);
    },
  };
}
