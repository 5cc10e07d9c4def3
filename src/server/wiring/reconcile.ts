import type { Clock } from '../../clock/index.js';
import type { Duty } from '../../cluster/index.js';
import type { DeliveryProcessor } from '../../deliveries/index.js';
import { Reconciler, reconcileDuty } from '../../reconcile/index.js';
import type { Source, Store } from '../../store/index.js';
import type { GitMirrors } from '../../workflows/index.js';
import type { Logger } from '../logger.js';

export interface ReconcileParts {
  store: Store;
  mirrors: GitMirrors;
  processor: Pick<DeliveryProcessor, 'deliver'>;
  sourceToken(source: Source): Promise<string | null>;
  clock: Clock;
  log: Logger;
  intervalMs: number;
}

/**
 * Reconcile over this node's store, mirrors and delivery processor: the reconciler serves
 * `kici-admin source redeliver <id>`, and the duty, added once deliveries a crash left behind are
 * resumed, runs at start (pushes made while kici was down) and every interval after (pushes whose
 * delivery never came).
 */
export function wireReconcile(parts: ReconcileParts): { reconciler: Reconciler; duty: Duty } {
  const reconciler = new Reconciler({
    store: parts.store,
    mirrors: parts.mirrors,
    sourceToken: parts.sourceToken,
    process: (key, body) => parts.processor.deliver(key, body),
    clock: parts.clock,
  });
  const failed = (sourceId: string, e: unknown) => parts.log.warn({ sourceId, err: (e as Error).message }, 'git reconcile of a source failed');
  return { reconciler, duty: reconcileDuty(reconciler, parts.intervalMs, failed) };
}
