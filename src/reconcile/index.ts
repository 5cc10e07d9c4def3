/**
 * The reconcile room: pushes that are never lost. A coordinator duty (and `kici-admin source
 * redeliver <id>`) fetches each git source's mirror and runs the branches whose tip moved without
 * a delivery, through the same delivery path as the post-receive hook's pushes.
 */
export { planReconcile, type MovedRef, type ReconcilePlan, type Tip } from './plan.js';
export { pushBody, reconcileDeliveryId, RECONCILE_DELIVERY_PREFIX } from './push-delivery.js';
export { Reconciler, type ReconcileDeps, type ReconciledRef, type ReconcileReport } from './reconciler.js';
export { reconcileDuty } from './duty.js';
