/**
 * What invariant 1 compares the runs with: the runs each delivery's lock file asks for. The
 * workload knows (it wrote the lock file and sent the webhook), so it should say; failing that,
 * the delivery's own `matched_count` is used, which only checks that the system did what it
 * itself decided, not that it decided right.
 */
import type { DeliveryView } from './database-view.js';

export interface ExpectedRuns {
  /**
   * The workflow names the delivery's lock file asks a run of, or only how many, or undefined when
   * the delivery is not one this expectation speaks for (it is then skipped, and noted).
   */
  workflowsFor(delivery: DeliveryView): readonly string[] | number | undefined;
  /** Delivery ids the workload saw accepted (HTTP 202): each must be in the event log. */
  accepted: readonly string[];
  /** How the expectation was formed, for the report's notes. */
  describe: string;
}

/**
 * The workload's own expectation: delivery id (or `orgId/deliveryId`) → the workflows its lock file
 * asks for ([] when none matches). Every key is a delivery the workload saw accepted.
 */
export function expectWorkflows(byDelivery: ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>): ExpectedRuns {
  const map = byDelivery instanceof Map ? byDelivery : new Map(Object.entries(byDelivery));
  return {
    workflowsFor: (d) => map.get(`${d.orgId}/${d.deliveryId}`) ?? map.get(d.deliveryId),
    accepted: [...map.keys()],
    describe: `the workload's expectation for ${map.size} deliveries`,
  };
}

/** Fallback: as many runs as the delivery says it matched, once processed. */
export function expectMatchedCount(): ExpectedRuns {
  return {
    workflowsFor: (d) => (d.status === 'processed' ? d.matchedCount : undefined),
    accepted: [],
    describe: "each processed delivery's own matched_count (the workload gave no expectation): checks the runs match what the system decided, not what the lock file asks for",
  };
}
