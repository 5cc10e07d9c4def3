/**
 * Actors across nodes over the peer links: the actors room's `RemoteDelivery` (resent until the
 * deadline, "moved" followed, applied once by message id) with `actor.deliver` requests as its
 * wire. The transport checks each body and answer against `peer-protocol/actor-messages.ts` on
 * both ends; here only current members' messages are let through.
 */
import { randomBytes } from 'node:crypto';
import { RemoteDelivery, type ActorWire, type RemoteDeliveryOptions } from '../../actors/index.js';
import type { ActorKinds, PeerIdentity, PeerLinks } from '../../transport/index.js';

export interface ActorLinksOptions extends Omit<RemoteDeliveryOptions, 'wire' | 'incarnation'> {
  links: PeerLinks;
  kinds: ActorKinds;
  /** Is this certificate a current member's? Messages from any other are refused. */
  trusted?(from: PeerIdentity): boolean;
}

export class ActorLinks extends RemoteDelivery {
  constructor({ links, kinds, trusted, ...options }: ActorLinksOptions) {
    // A random boot id: a restarted node's message ids never repeat the ones its last run used.
    super({ ...options, wire: peerLinksWire(links, kinds, trusted), incarnation: randomBytes(4).toString('hex') });
  }
}

function peerLinksWire(links: PeerLinks, kinds: ActorKinds, trusted: ActorLinksOptions['trusted']): ActorWire {
  return {
    request: (node, message, timeoutMs) => links.request(node, kinds.deliver, message, { timeoutMs }),
    handle: (receive) =>
      links.handle(kinds.deliver, (from, body) => {
        if (!(trusted?.(from) ?? true)) return { outcome: 'failed' as const, reason: 'not a member of the cluster' };
        return receive(from.nodeId, body);
      }),
  };
}
