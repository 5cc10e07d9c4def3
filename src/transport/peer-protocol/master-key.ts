/**
 * Master-key handover between coordinators during a rotation. The coordinator `kici-admin
 * rotate-key` runs on offers every other coordinator the new key and the old one, sealed to the
 * receiver's node key (the same sealed box a join hands its secrets in), before it re-seals
 * anything; when nothing is left sealed with the old key it tells them to drop it. The peer link
 * is already mutual TLS; the box keeps the keys out of anything that logs or keeps frames.
 */
import { z } from 'zod';
import type { PeerKinds, PeerRequestKind } from './kinds.js';
import { sealedBoxBody } from './join.js';

/** The sealed box's purpose: a box sealed for a join does not open as a key offer, nor the reverse. */
export const KEY_OFFER_PURPOSE = 'kici-master-key-offer';

/** What the box holds: both keys, 64 hex characters each. */
export const keyOfferSecrets = z.strictObject({
  secretKey: z.string().regex(/^[0-9a-f]{64}$/),
  oldSecretKey: z.string().regex(/^[0-9a-f]{64}$/),
});
export type KeyOfferSecrets = z.infer<typeof keyOfferSecrets>;

export const keyOfferBody = z.strictObject({ box: sealedBoxBody });
/** `reason` names key versions and members only, never a key. */
export const keyAnswer = z.strictObject({ accepted: z.boolean(), reason: z.string().max(500).optional() });
export const keyDropBody = z.strictObject({ keyVersion: z.number().int().min(2) });
export const keyDropAnswer = z.strictObject({ dropped: z.boolean(), reason: z.string().max(500).optional() });

export interface MasterKeyKinds {
  offer: PeerRequestKind<z.infer<typeof keyOfferBody>, z.infer<typeof keyAnswer>>;
  drop: PeerRequestKind<z.infer<typeof keyDropBody>, z.infer<typeof keyDropAnswer>>;
}

/** Register the master-key kinds on a node's registry (once, before its links start). */
export function registerMasterKeyKinds(kinds: PeerKinds): MasterKeyKinds {
  return {
    offer: kinds.request('cluster.master_key_offer', keyOfferBody, keyAnswer),
    drop: kinds.request('cluster.master_key_drop', keyDropBody, keyDropAnswer),
  };
}
