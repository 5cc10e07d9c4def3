/**
 * What a coordinator does with master keys another coordinator hands it during a rotation (pure:
 * the peer handler and the handover file are the shell around it). An offer names the new key and
 * the old one; the old one must be a key this node already has, so only a holder of the cluster's
 * key can move it: a stranger (or a mistake) cannot swap the keys of a running cluster.
 */
import { sameKey } from './live-keys.js';
import type { MasterKey } from './sealing.js';
import type { SecretKeys } from './secret-store.js';

export interface KeyOffer {
  current: MasterKey;
  old: MasterKey;
}

export type OfferJudgement =
  /** Install these keys (current, old) and keep them in the handover file. */
  | { take: true; current: MasterKey; old: MasterKey | undefined; changed: boolean }
  /** Refused: the reason names key versions only, never a key. */
  | { take: false; reason: string };

export function judgeKeyOffer(held: SecretKeys, offer: KeyOffer): OfferJudgement {
  // Already on the offered key (a second rotate-key, or a node that joined after the first): keep what it holds.
  if (sameKey(held.current, offer.current)) return { take: true, current: held.current, old: held.old, changed: false };
  const knowsOld = sameKey(held.current, offer.old) || (held.old !== undefined && sameKey(held.old, offer.old));
  if (!knowsOld) {
    return { take: false, reason: `the offered old key (key version ${offer.old.version}) is not a key this node holds (key version ${held.current.version}${held.old ? ` or ${held.old.version}` : ''})` };
  }
  return { take: true, current: offer.current, old: offer.old, changed: true };
}

/** Drop the old key only when the sender rotated to the key this node holds as current. */
export function judgeKeyDrop(held: SecretKeys, currentVersion: number): { drop: boolean; reason?: string } {
  if (held.current.version !== currentVersion) return { drop: false, reason: `this node's current key is key version ${held.current.version}, not ${currentVersion}` };
  return { drop: held.old !== undefined };
}

/** rotate-key refuses to re-seal while a live coordinator has not taken the new key: it could not read what is re-sealed. */
export class KeyHandoverRefusedError extends Error {
  constructor(readonly members: readonly { node: string; reason: string }[]) {
    super(
      `the new master key did not reach every live coordinator, so nothing was re-sealed: ${members.map((m) => `${m.node} (${m.reason})`).join('; ')}; ` +
        'restart those with the new key as KICI_SECRET_KEY and the old one as KICI_SECRET_KEY_OLD, or bring their links back, then run rotate-key again',
    );
    this.name = 'KeyHandoverRefusedError';
  }
}
