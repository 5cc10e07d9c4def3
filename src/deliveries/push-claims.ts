/**
 * One push, one set of runs. The post-receive hook's delivery, the same delivery flushed later
 * from its spool, and a reconcile's delivery of a branch that moved all stand for a (source, ref,
 * commit); the first to be processed claims it and gets the runs, any other is a duplicate. The
 * claim is taken once the commit is in the mirror, so a delivery that could not even fetch leaves
 * the push to the next one.
 */
import type { Clock } from '../clock/index.js';
import type { DeliveryOutcome, Store } from '../store/index.js';

export interface PushClaimDeps {
  store: Pick<Store, 'refTips'>;
  clock: Pick<Clock, 'now'>;
}

export interface Push {
  sourceId: string;
  ref: string;
  sha: string;
  deliveryId: string;
}

/**
 * Record the push as the branch's last processed commit and claim its runs. Returns the delivery
 * that owns them (this one unless an earlier delivery claimed the same commit).
 */
export async function claimPush(deps: PushClaimDeps, push: Push): Promise<string> {
  // Reconcile compares branch tips only; tags are events of their own, never reconciled.
  const advanceTip = push.ref.startsWith('refs/heads/');
  return deps.store.refTips.claimPush(push.sourceId, push.ref, push.sha, push.deliveryId, new Date(deps.clock.now()), { advanceTip });
}

/** Processing failed after the claim: free the push so a later delivery of it still runs it. */
export function releasePush(deps: PushClaimDeps, push: Push): Promise<void> {
  return deps.store.refTips.releasePush(push.sourceId, push.ref, push.sha, push.deliveryId);
}

/** The event log's entry for a delivery whose push already had its runs. */
export function duplicateOutcome(push: Push, owner: string): DeliveryOutcome {
  return {
    status: 'duplicate',
    matchedCount: 0,
    trace: { summary: `duplicates delivery ${owner}, which already has the runs of ${push.ref} at ${push.sha}`, duplicateOf: owner },
  };
}
