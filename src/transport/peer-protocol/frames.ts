/**
 * The frames of a peer link, as zod schemas. Each frame is one binary WebSocket message holding
 * one MessagePack map. After TLS each side sends `hello` first (the dialler at once, the listener
 * once it has accepted the dialler's), then any of the others:
 *
 *   hello     protocol version, cluster id, node id, role: must agree with the certificate
 *   message   one-way, with a kind and a body the kind's schema validates
 *   request   an id, a kind, a body, and how long the requester waits (`timeoutMs`)
 *   response  the request's id and kind, and either `ok: true` with a body or `ok: false` with an error
 *   ping/pong liveness; anything received counts as a sign of life
 *
 * Envelopes are strict: a field this build does not know is refused, not ignored (a newer peer
 * speaks a newer protocol version, which the hello settles first).
 */
import { z } from 'zod';
import { NODE_ROLES } from '../../certificates/index.js';
import { PEER_KIND_PATTERN } from './kinds.js';

/** Version spoken by this build; a hello outside MIN..MAX is refused (close 4105). */
export const PEER_PROTOCOL_VERSION = 1;
export const MIN_PEER_PROTOCOL_VERSION = 1;
export const MAX_PEER_PROTOCOL_VERSION = PEER_PROTOCOL_VERSION;

/** A requester waits at most this long; a longer wait is a bug, not a network. */
export const MAX_REQUEST_TIMEOUT_MS = 10 * 60_000;

/** Cluster and node ids: the grammar the certificates room gives them (and that a kici URI holds). */
const peerId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'an id of 1–64 letters, digits, ".", "_" or "-"');
const kind = z.string().regex(PEER_KIND_PATTERN, 'a kind name');
const requestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const helloFrame = z.strictObject({
  type: z.literal('hello'),
  protocolVersion: z.number().int().min(0).max(65_535),
  clusterId: peerId,
  nodeId: peerId,
  role: z.enum(NODE_ROLES),
});

export const messageFrame = z.strictObject({
  type: z.literal('message'),
  kind,
  body: z.unknown(),
});

export const requestFrame = z.strictObject({
  type: z.literal('request'),
  id: requestId,
  kind,
  /** How long the requester waits from sending; relative, so the two clocks need not agree. */
  timeoutMs: z.number().int().min(1).max(MAX_REQUEST_TIMEOUT_MS),
  body: z.unknown(),
});

/** Why a request was not answered with a body; codes are lowercase words, messages short text. */
export const requestError = z.strictObject({
  code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'an error code'),
  message: z.string().max(1000),
});

export const responseFrame = z.discriminatedUnion('ok', [
  z.strictObject({ type: z.literal('response'), id: requestId, kind, ok: z.literal(true), body: z.unknown() }),
  z.strictObject({ type: z.literal('response'), id: requestId, kind, ok: z.literal(false), error: requestError }),
]);

const nonce = z.number().int().min(0).max(0xffff_ffff);
export const pingFrame = z.strictObject({ type: z.literal('ping'), nonce });
export const pongFrame = z.strictObject({ type: z.literal('pong'), nonce });

export const peerFrame = z.discriminatedUnion('type', [helloFrame, messageFrame, requestFrame, responseFrame, pingFrame, pongFrame]);

export type HelloFrame = z.infer<typeof helloFrame>;
export type MessageFrame = z.infer<typeof messageFrame>;
export type RequestFrame = z.infer<typeof requestFrame>;
export type ResponseFrame = z.infer<typeof responseFrame>;
export type RequestError = z.infer<typeof requestError>;
export type PingFrame = z.infer<typeof pingFrame>;
export type PongFrame = z.infer<typeof pongFrame>;
export type PeerFrame = z.infer<typeof peerFrame>;
