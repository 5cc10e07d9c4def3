/**
 * Actors across simulated nodes: the actors room's `RemoteDelivery`, the code the orchestrator
 * runs over its peer links (`server/wiring/actor-links.ts`), with `actor.deliver` calls over the
 * simulated mesh as its wire. Nothing checks the bodies: they never leave the one process.
 */
import { RemoteDelivery, type ActorSystem, type ActorWire, type Envelope, type RemoteAnswer, type RemoteMessage } from '../actors/index.js';
import type { PeerCalls } from './peer-calls.js';
import type { ProcessClock } from './process-clock.js';

const DELIVER = 'actor.deliver';

export class ActorMail extends RemoteDelivery {
  private system: ActorSystem | undefined;

  constructor(
    nodeId: string,
    /** Which process of the node this is: message ids stay unique across restarts. */
    incarnation: number,
    calls: PeerCalls,
    clock: ProcessClock,
    /** A tell given up on. */
    undelivered: (envelope: Envelope, reason: Error) => void,
  ) {
    super({ wire: callsWire(calls), nodeId, incarnation: String(incarnation), clock, system: () => this.system, onUndelivered: undelivered });
  }

  /** The node's actor system, built after this (it takes this as its remote port). */
  attach(system: ActorSystem): void {
    this.system = system;
  }
}

function callsWire(calls: PeerCalls): ActorWire {
  return {
    request: (node, message, timeoutMs) => calls.request<RemoteAnswer>(node, DELIVER, message, timeoutMs),
    handle: (receive) => {
      calls.handle(DELIVER, (from, body) => receive(from, body as RemoteMessage));
      // Nothing to undo: a process's calls die with it.
      return () => undefined;
    },
  };
}
