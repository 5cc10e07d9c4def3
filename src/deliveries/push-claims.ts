/**
 * One push, one set of runs. The post-receive hook's delivery, the same delivery flushed later
 * from its spool, and a reconcile's delivery of a branch that moved all stand for a (source, ref,
 * commit); the first to be processed claims it and gets the runs, any other is a duplicate. The
 * claim is taken in the statement that writes the runs, so a delivery that could not fetch the
 * commit, or failed before its runs were written, leaves the push to the next one.
 */
import type { Clock } from '../clock/index.js';
import type { DeliveryOutcome, PushClaim, Store } from '../store/index.js';

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
 * The claim as the run creation takes it: the runs are written only by the delivery that owns the
 * push, and a branch's push is recorded as its last processed commit. Reconcile compares branch
 * tips only; tags are events of their own, never reconciled.
 */
export function pushClaim(push: Push): PushClaim {
  return { sourceId: push.sourceId, ref: push.ref, sha: push.sha, advanceTip: push.ref.startsWith('refs/heads/') };
}

/**
 * Claim the push by itself (and record the tip). Returns the delivery that owns it: this one
 * unless an earlier delivery claimed the same commit.
 */
export async function claimPush(deps: PushClaimDeps, push: Push): Promise<string> {
  const { advanceTip } = pushClaim(push);
  return deps.store.refTips.claimPush(push.sourceId, push.ref, push.sha, push.deliveryId, new Date(deps.clock.now()), { advanceTip });
}

/** The event log's entry for a delivery whose push already had its runs. */
export function duplicateOutcome(push: Push, owner: string): DeliveryOutcome {
  return {
    status: 'duplicate',
    matchedCount: 0,
    trace: { summary: `duplicates delivery ${owner}, which already has the runs of ${push.ref} at ${push.sha}`, duplicateOf: owner },
  };
}
