/**
 * Actors across nodes over the peer links: the actors room's `RemoteDelivery` (resent until the
 * deadline, "moved" followed, applied once by message id) with `actor.deliver` requests as its
 * wire. The transport checks each body and answer against `peer-protocol/actor-messages.ts` on
 * both ends; here only current members' messages are let through.
 */
import { randomBytes } from 'node:crypto';
import { RemoteDelivery, type ActorWire, type RemoteDeliveryOptions } from '../../actors/index.js';
import type { ActorEnvelopeBody, ActorKinds, PeerIdentity, PeerLinks } from '../../transport/index.js';

export interface ActorLinksOptions extends Omit<RemoteDeliveryOptions, 'wire' | 'incarnation'> {
  links: PeerLinks;
  kinds: ActorKinds;
  /** Is this certificate a current member's? Messages from any other are refused. */
  trusted?(from: PeerIdentity): boolean;
  /** May this member send this message (an edge worker may tell runs only what its agents report)? */
  admits?(from: PeerIdentity, message: ActorEnvelopeBody): boolean;
}

export class ActorLinks extends RemoteDelivery {
  constructor({ links, kinds, trusted, admits, ...options }: ActorLinksOptions) {
    // A random boot id: a restarted node's message ids never repeat the ones its last run used.
    super({ ...options, wire: peerLinksWire(links, kinds, trusted, admits), incarnation: randomBytes(4).toString('hex') });
  }
}

function peerLinksWire(links: PeerLinks, kinds: ActorKinds, trusted: ActorLinksOptions['trusted'], admits: ActorLinksOptions['admits']): ActorWire {
  return {
    request: (node, message, timeoutMs) => links.request(node, kinds.deliver, message, { timeoutMs }),
    handle: (receive) =>
      links.handle(kinds.deliver, (from, body) => {
        if (!(trusted?.(from) ?? true)) return { outcome: 'failed' as const, reason: 'not a member of the cluster' };
        if (!(admits?.(from, body) ?? true)) return { outcome: 'failed' as const, reason: `a ${from.role} may not send this message` };
        return receive(from.nodeId, body);
      }),
  };
}
