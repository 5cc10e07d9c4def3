/**
 * What the links tell their owner: peers coming and going, refusals, dropped answers. A listener
 * that throws is logged, never allowed to break the socket callback that emitted.
 */
import type { PeerRefusalReason } from './judgement.js';
import type { LinkDirection } from './connection.js';
import type { PeerLogger } from './logger.js';

export interface PeerUpEvent {
  nodeId: string;
  role: 'coordinator' | 'worker';
  direction: LinkDirection;
  /** The remote address (inbound) or the configured one (outbound). */
  address: string;
}

export interface PeerDownEvent {
  nodeId: string;
  code: number;
  reason: string;
}

export interface PeerRefusedEvent {
  /** inbound: a peer this node refused; outbound: a server this node refused to talk to. */
  direction: LinkDirection;
  address: string;
  /** The node the certificate names, when it could be read. */
  nodeId?: string;
  reason: PeerRefusalReason;
  /** The close code sent; undefined when the refusal happened during TLS. */
  code?: number;
  message: string;
  /** The address was past its failure limit: it was told only 4108. */
  limited: boolean;
}

export interface ResponseDroppedEvent {
  nodeId: string;
  kind: string;
  id: number;
  /** late: its request had already timed out; unknown: it answers nothing this node asked on that link. */
  why: 'late' | 'unknown';
}

export interface PeerLinksEventMap {
  peerUp: PeerUpEvent;
  peerDown: PeerDownEvent;
  refused: PeerRefusedEvent;
  responseDropped: ResponseDroppedEvent;
}

export class PeerLinksEvents {
  private readonly listeners = new Map<keyof PeerLinksEventMap, Set<(event: never) => void>>();

  constructor(private readonly logger: PeerLogger) {}

  on<K extends keyof PeerLinksEventMap>(name: K, listener: (event: PeerLinksEventMap[K]) => void): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener as (event: never) => void);
    this.listeners.set(name, set);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends keyof PeerLinksEventMap>(name: K, event: PeerLinksEventMap[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (event: PeerLinksEventMap[K]) => void)(event);
      } catch (error) {
        this.logger.error({ event: name, err: (error as Error).message }, 'peer links listener failed');
      }
    }
  }
}
