/**
 * WebSocket close codes of peer links (`/ws/peer`). They sit in 4100–4199, apart from the agent
 * link's 40xx, so a log line or a packet capture says which door a close came from. A peer that
 * fails TLS itself (no client certificate, a certificate another CA signed) never reaches the
 * WebSocket: it is refused by a TLS alert and has no close code (the refusal is still counted
 * and logged, see `PeerRefusalReason`).
 */
export const PeerCloseCode = {
  /** Closed on purpose: the peer was removed, or the links were shut. */
  normal: 1000,
  /** This node is shutting down. */
  goingAway: 1001,
  /** A broken WebSocket frame (WebSocket's own code, sent by ws). */
  protocolError: 1002,
  /**
   * A frame larger than the receiver's maxFrameBytes (WebSocket's own code). ws refuses it from
   * its header, before buffering it, and drops the socket: the sender may see only 1006.
   */
  frameTooLarge: 1009,
  /** The pair already has a link and this one lost the tie-break (the lower node id's dial stays). */
  duplicateLink: 4100,
  /** The hello names another cluster. */
  wrongCluster: 4101,
  /** The certificate passed TLS but not `verifyNodeCertificate` (not a node certificate, expired, not yet valid). */
  certificateRefused: 4102,
  /** The certificate's serial is on the revoked list (at connect, or later: a revocation cuts a live link). */
  revoked: 4103,
  /** The hello disagrees with the certificate (node id or role), or names the node itself. */
  helloMismatch: 4104,
  /** The hello's protocol version is outside what this build speaks. */
  unsupportedVersion: 4105,
  /** No hello arrived in time. */
  helloTimeout: 4106,
  /** A frame that is not binary, not MessagePack, fails its schema, or names an unknown kind. */
  invalidFrame: 4107,
  /** An authentication failure from an address past its failure limit; nothing more is said. */
  tooManyFailures: 4108,
  /** Cut on purpose: `cutPeer`, or a fault-injected partition. */
  cut: 4109,
  /** Nothing arrived from the peer for longer than the idle timeout. */
  heartbeatTimeout: 4110,
} as const;

export type PeerCloseCodeName = keyof typeof PeerCloseCode;
export type PeerCloseCodeValue = (typeof PeerCloseCode)[PeerCloseCodeName];

/** The name of a close code, for log lines (`4103` → `revoked`); undefined for codes that are not ours. */
export function peerCloseCodeName(code: number): PeerCloseCodeName | undefined {
  return (Object.keys(PeerCloseCode) as PeerCloseCodeName[]).find((name) => PeerCloseCode[name] === code);
}
