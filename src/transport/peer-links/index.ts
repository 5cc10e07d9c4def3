/**
 * Peer links: this node's TLS port for peers, a dialler per known peer, one link per pair, ordered
 * byte-capped queues, requests with deadlines, reconnects with backoff, the fault hook.
 */
export { PeerLinks } from './peer-links.js';
export type { MessageListener, PeerIdentity, RequestContext, RequestHandler } from './peer-links.js';
export { DEFAULT_HIGH_WATER_BYTES, DEFAULT_MAX_QUEUED_BYTES } from './options.js';
export type { PeerLinksOptions } from './options.js';
export type { PeerDownEvent, PeerLinksEventMap, PeerRefusedEvent, PeerUpEvent, ResponseDroppedEvent } from './events.js';
export type { LinkDirection } from './connection.js';
export { judgeCertificate, judgeHello } from './judgement.js';
export type { PeerRefusal, PeerRefusalReason } from './judgement.js';
export { DEFAULT_BACKOFF, DEFAULT_MAX_RECONNECT_DELAY_MS, ReconnectBackoff, reconnectCeiling, reconnectDelay } from './backoff.js';
export type { BackoffPolicy } from './backoff.js';
export { PeerFaults, createPeerFaults, faultInjectionAllowed } from './faults.js';
export type { AppliedFault, FaultDirection, FaultInjectionVerdict, FaultRule, FramePlan } from './faults.js';
export {
  FaultInjectionRefusedError,
  PeerBackPressureError,
  PeerLinkDownError,
  PeerRequestFailedError,
  PeerRequestTimeoutError,
  UnknownPeerError,
} from './errors.js';
export { DEFAULT_CLUSTER_PORT, PEER_PATH } from './peer-server.js';
export { formatPeerAddress, parsePeerAddress } from './dial.js';
export type { PeerAddress } from './dial.js';
export { type PeerLogger, silentPeerLogger } from './logger.js';
export { JoinFailedError, requestJoin, type JoinAttempt } from './join-client.js';
export type { JoinDoor } from './peer-server.js';
