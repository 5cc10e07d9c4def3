import type { DeliveryOutcome } from '../store/index.js';
import type { Push } from './push-claims.js';
import type { PlannedRun } from './run-creation.js';

/**
 * How processing a delivery ends: its outcome and the runs it starts, written together
 * (`store.runs.createForDelivery`); `push` is the push it brought, claimed by that same write.
 */
export interface Decision {
  outcome: DeliveryOutcome;
  runs: PlannedRun[];
  push?: Push;
}

export const decided = (outcome: DeliveryOutcome): Decision => ({ outcome, runs: [] });
