import type { HeaderBag } from './headers.js';
import { headerValue } from './headers.js';
import type { RouteKind } from './source.js';

export interface DeliveryIdentity {
  deliveryId: string;
  /** Null when the sender gave no id: such a delivery cannot be recognised again, so no dedup. */
  dedupKey: string | null;
}

const GENERIC_ID_HEADERS = ['x-delivery-id', 'x-request-id', 'x-idempotency-key'];

function senderId(route: RouteKind, headers: HeaderBag): string | undefined {
  const names = route === 'github' ? ['x-github-delivery'] : route === 'git' ? ['x-delivery-id'] : GENERIC_ID_HEADERS;
  for (const name of names) {
    const value = headerValue(headers, name)?.trim();
    if (value) return value;
  }
  return undefined;
}

/**
 * Works out the delivery id and the dedup key. Keys are scoped by source so two sources that
 * happen to use the same ids never swallow each other's deliveries. Git and generic ids are also
 * stored scoped (the git hook already sends `<sourceId>:…`), because senders' ids are only unique
 * per sender; GitHub delivery GUIDs are global and kept as sent.
 */
export function deliveryIdentity(
  route: RouteKind,
  sourceId: string,
  headers: HeaderBag,
  newId: () => string,
): DeliveryIdentity {
  const id = senderId(route, headers);
  if (id === undefined) return { deliveryId: newId(), dedupKey: null };
  const scoped = id.startsWith(`${sourceId}:`) ? id : `${sourceId}:${id}`;
  return { deliveryId: route === 'github' ? id : scoped, dedupKey: scoped };
}
