/**
 * What a caller of the peer links can be told, each as its own class so cluster/ can tell a full
 * queue (slow down) from a dead link (report unreachable) from a late answer (retry elsewhere).
 */

/** The peer's queue would pass its byte cap: the message was not queued. */
export class PeerBackPressureError extends Error {
  constructor(
    readonly peerId: string,
    readonly queuedBytes: number,
    readonly maxQueuedBytes: number,
  ) {
    super(`the queue to peer ${peerId} holds ${queuedBytes} bytes; one more frame would pass its ${maxQueuedBytes}-byte cap`);
    this.name = 'PeerBackPressureError';
  }
}

/** The link to the peer is down, or went down while a request waited for its answer. */
export class PeerLinkDownError extends Error {
  constructor(
    readonly peerId: string,
    readonly reason: string,
  ) {
    super(`the link to peer ${peerId} is down: ${reason}`);
    this.name = 'PeerLinkDownError';
  }
}

/** No answer came before the request's deadline; an answer arriving later is dropped. */
export class PeerRequestTimeoutError extends Error {
  constructor(
    readonly peerId: string,
    readonly kind: string,
    readonly timeoutMs: number,
  ) {
    super(`peer ${peerId} did not answer the ${kind} request within ${timeoutMs} ms`);
    this.name = 'PeerRequestTimeoutError';
  }
}

/**
 * The peer answered, but with an error. A request handler may throw one of these to choose the
 * code the requester sees; any other throw reaches the requester as `handler_failed`.
 */
export class PeerRequestFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PeerRequestFailedError';
  }
}

/** The node id names no peer this node knows (never added, and never connected to us). */
export class UnknownPeerError extends Error {
  constructor(readonly peerId: string) {
    super(`no peer ${peerId} is known`);
    this.name = 'UnknownPeerError';
  }
}

/** KICI_FAULT_INJECTION=true outside development: the node must not start. */
export class FaultInjectionRefusedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FaultInjectionRefusedError';
  }
}
