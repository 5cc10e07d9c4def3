/**
 * What a node's peer links are built from, and the defaults. Durations are milliseconds on the
 * injected clock; sizes are bytes.
 */
import { z } from 'zod';
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { NodeCredentials } from '../../certificates/index.js';
import type { Clock, Random } from '../../clock/index.js';
import { DEFAULT_MAX_FRAME_BYTES, type PeerKinds } from '../peer-protocol/index.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import type { PeerFaults } from './faults.js';
import type { PeerLogger } from './logger.js';
import type { JoinDoor } from './peer-server.js';

export interface PeerLinksOptions {
  /** This node's certificate, key and cluster CA (`loadNodeCredentials`): its identity on every link. */
  credentials: NodeCredentials;
  /** The kinds the links carry; register them all before the first frame arrives. */
  kinds: PeerKinds;
  /** Where to listen (`KICI_CLUSTER_PORT`, 4001 by default); leave out for a node that only dials. */
  listen?: { host: string; port: number };
  clock?: Clock;
  random?: Random;
  logger?: PeerLogger;
  /** The serials revoked now; asked at every handshake and by `revocationsChanged`. */
  revokedSerials?: () => Iterable<string>;
  /** Failed peer authentications per address; pass the node's shared one to count every door together. */
  authFailures?: FailedAuthLimit;
  /** Answers joiners on the peer port (a coordinator that holds the CA key); absent: the join paths are 404. */
  join?: JoinDoor;
  /** The fault hook, only where fault injection is allowed (`createPeerFaults`). */
  faults?: PeerFaults;
  maxFrameBytes?: number;
  /** Bytes that may wait for one peer; past it `send` answers false and `request` back-pressure. */
  maxQueuedBytes?: number;
  /** Draining stops while the socket holds this many unwritten bytes, and resumes as they are written. */
  highWaterBytes?: number;
  initialReconnectDelayMs?: number;
  /** `KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS`. */
  maxReconnectDelayMs?: number;
  /** A link that lasted this long resets the reconnect backoff. */
  stableAfterMs?: number;
  helloTimeoutMs?: number;
  /** TLS and upgrade of one dial. */
  dialTimeoutMs?: number;
  /** 0 turns heartbeats off. */
  pingIntervalMs?: number;
  /** A link on which nothing arrived for this long is closed (4110). */
  idleTimeoutMs?: number;
}

export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;

const positive = z.number().int().min(1);
const settingsSchema = z.object({
  maxFrameBytes: z.number().int().min(64).default(DEFAULT_MAX_FRAME_BYTES),
  maxQueuedBytes: positive.default(DEFAULT_MAX_QUEUED_BYTES),
  highWaterBytes: positive.default(DEFAULT_HIGH_WATER_BYTES),
  initialReconnectDelayMs: positive.default(DEFAULT_BACKOFF.initialDelayMs),
  maxReconnectDelayMs: positive.default(DEFAULT_BACKOFF.maxDelayMs),
  stableAfterMs: positive.default(DEFAULT_BACKOFF.stableAfterMs),
  helloTimeoutMs: positive.default(5_000),
  dialTimeoutMs: positive.default(5_000),
  pingIntervalMs: z.number().int().min(0).default(1_000),
  idleTimeoutMs: positive.default(5_000),
});

export type PeerLinksSettings = z.infer<typeof settingsSchema>;

export function peerLinksSettings(options: PeerLinksOptions): PeerLinksSettings {
  const parsed = settingsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`peer links: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const settings = parsed.data;
  if (settings.initialReconnectDelayMs > settings.maxReconnectDelayMs) throw new TypeError('peer links: initialReconnectDelayMs must not exceed maxReconnectDelayMs');
  if (settings.pingIntervalMs > 0 && settings.idleTimeoutMs <= settings.pingIntervalMs) throw new TypeError('peer links: idleTimeoutMs must exceed pingIntervalMs');
  return settings;
}
