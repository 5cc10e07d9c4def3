/**
 * The delivery a reconcile records for a moved branch: the same body the post-receive hook posts
 * for a push, under a delivery id derived from what it stands for, so it is processed, traced and
 * listed like the hook's, and recording it twice is recognised.
 */
import type { MovedRef } from './plan.js';

export const RECONCILE_DELIVERY_PREFIX = 'reconcile:';

export function reconcileDeliveryId(sourceId: string, moved: Pick<MovedRef, 'ref' | 'after'>): string {
  return `${RECONCILE_DELIVERY_PREFIX}${sourceId}:${moved.ref}:${moved.after}`;
}

export function pushBody(moved: MovedRef, repository: { name: string; url: string | null }): Buffer {
  const body = { ref: moved.ref, before: moved.before, after: moved.after, repository: { name: repository.name, ...(repository.url ? { url: repository.url } : {}) } };
  return Buffer.from(JSON.stringify(body));
}
