/** Reconcile as a coordinator duty: once at start, then every `KICI_GIT_RECONCILE_INTERVAL_MS`. */
import type { Duty } from '../cluster/index.js';
import type { Reconciler } from './reconciler.js';

export function reconcileDuty(reconciler: Reconciler, everyMs: number, onFailure: (sourceId: string, error: unknown) => void): Duty {
  return {
    name: 'git-reconcile',
    everyMs,
    async run() {
      await reconciler.reconcileAll(onFailure);
    },
  };
}
