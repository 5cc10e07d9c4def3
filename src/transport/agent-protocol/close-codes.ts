/**
 * WebSocket close codes of the agent link. The numbers are KiCI's, so operators can read our
 * traffic with what they already know.
 */
export const CloseCode = {
  /** Normal close by the client; it does not reconnect. */
  normal: 1000,
  goingAway: 1001,
  unauthorized: 4001,
  /** auth.request or agent.register did not arrive in time. */
  handshakeTimeout: 4002,
  /** A frame failed its schema, a rate limit held, or an agent id collided. */
  invalidMessage: 4003,
  heartbeatTimeout: 4004,
  /** Protocol error or a protocol version below the minimum. */
  protocolError: 4005,
  internalError: 4006,
  /** The token is dead: the agent never reconnects after this one. */
  agentAuthFailed: 4010,
  clusterNameConflict: 4011,
  planLimit: 4020,
  runNotFound: 4030,
  dispatchAckTimeout: 4031,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** The WebSocket spec caps a close reason at 123 UTF-8 bytes; `ws.close` throws past that. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Cut `text` to at most 123 UTF-8 bytes without splitting a character. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_CLOSE_REASON_BYTES) return text;
  let out = '';
  let used = 0;
  // Iterating a string yields whole code points, so a surrogate pair is never split.
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > MAX_CLOSE_REASON_BYTES) break;
    out += ch;
    used += size;
  }
  return out;
}
