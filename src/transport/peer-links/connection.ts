/**
 * One WebSocket to a peer, after TLS: decoding and validating what arrives, the hello phase and
 * its deadline, heartbeats, and closing with a code. It knows nothing of queues, requests or
 * which link wins; it tells its owner (the links) through handlers, once per event, and never
 * throws out of a socket callback.
 */
import type { WebSocket } from 'ws';
import type { Clock } from '../../clock/index.js';
import type { NodeIdentity } from '../../certificates/index.js';
import { closeReason } from '../agent-protocol/index.js';
import { type HelloFrame, type PeerCodec, PeerCloseCode, type PeerFrame } from '../peer-protocol/index.js';
import type { PeerRefusal } from './judgement.js';

export type LinkDirection = 'inbound' | 'outbound';

export interface ConnectionTiming {
  helloTimeoutMs: number;
  /** 0 turns heartbeats off (tests that drive a manual clock far ahead). */
  pingIntervalMs: number;
  idleTimeoutMs: number;
}

export interface ConnectionClose {
  code: number;
  reason: string;
  /** True when this side closed (a refusal, a bad frame, a timeout); false when the peer or the network did. */
  byUs: boolean;
}

export interface ConnectionHandlers {
  /** The peer's hello arrived (first frame). The owner accepts it with `markUp` or closes. */
  hello(connection: PeerConnection, hello: HelloFrame): void;
  /** The hello phase failed (no hello in time, or a first frame that is not a valid hello); the owner closes. */
  helloFailed(connection: PeerConnection, refusal: PeerRefusal): void;
  /** A message, request or response on an accepted link. */
  frame(connection: PeerConnection, frame: Exclude<PeerFrame, { type: 'hello' | 'ping' | 'pong' }>): void;
  /** Called exactly once, as soon as the connection is closed by either side. */
  closed(connection: PeerConnection, close: ConnectionClose): void;
}

export interface ConnectionInit {
  id: number;
  ws: WebSocket;
  direction: LinkDirection;
  /** The remote address (normalised), for logs and failure counting. */
  address: string;
  /** Who the peer's certificate names (judged before this object exists), and the certificate itself. */
  certificate: NodeIdentity;
  certificateDer: Buffer;
  codec: PeerCodec;
  clock: Clock;
  timing: ConnectionTiming;
  handlers: ConnectionHandlers;
}

export class PeerConnection {
  readonly id: number;
  readonly direction: LinkDirection;
  readonly address: string;
  readonly certificate: NodeIdentity;
  readonly certificateDer: Buffer;
  /** The peer's hello, once it came. */
  hello: HelloFrame | undefined;
  private phase: 'hello' | 'up' | 'closed' = 'hello';
  private readonly ws: WebSocket;
  private readonly codec: PeerCodec;
  private readonly clock: Clock;
  private readonly timing: ConnectionTiming;
  private readonly handlers: ConnectionHandlers;
  private cancelTimer: (() => void) | undefined;
  private lastHeardAt: number;
  private pingNonce = 0;
  private wsRefusal: (Error & { code: string }) | undefined;

  constructor(init: ConnectionInit) {
    this.id = init.id;
    this.direction = init.direction;
    this.address = init.address;
    this.certificate = init.certificate;
    this.certificateDer = init.certificateDer;
    this.ws = init.ws;
    this.codec = init.codec;
    this.clock = init.clock;
    this.timing = init.timing;
    this.handlers = init.handlers;
    this.lastHeardAt = this.clock.now();
    this.ws.on('message', (data, isBinary) => this.received(data, isBinary));
    this.ws.on('close', (code, reason) => this.closedByPeer(code, reason.toString('utf8')));
    // ws reports faults as 'error' before 'close' (without a listener they would crash the process).
    // Its own refusals of what the peer sent (a frame over maxPayload, a broken WebSocket frame)
    // close the socket under us; they are kept so the close can say why.
    this.ws.on('error', (error: Error & { code?: string }) => {
      if (error.code?.startsWith('WS_ERR_')) this.wsRefusal ??= error as Error & { code: string };
    });
    this.cancelTimer = this.clock.setTimer(this.timing.helloTimeoutMs, () => {
      if (this.phase !== 'hello') return;
      this.handlers.helloFailed(this, { reason: 'hello-timeout', code: PeerCloseCode.helloTimeout, message: `no hello within ${this.timing.helloTimeoutMs} ms` });
    });
  }

  get isUp(): boolean {
    return this.phase === 'up';
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Bytes handed to the socket and not yet written: the links stop draining above their high-water mark. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** The hello was accepted: frames flow and heartbeats start. */
  markUp(): void {
    if (this.phase !== 'hello') return;
    this.phase = 'up';
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.lastHeardAt = this.clock.now();
    this.armHeartbeat();
  }

  /** Encode and send a frame of the link's own (hello, response); bodies must be valid already. */
  send(frame: PeerFrame, done?: (error?: Error) => void): void {
    this.write(this.codec.encode(frame), done);
  }

  /** Send bytes already encoded. `done` runs once they are written to the socket, or failed. */
  write(bytes: Buffer, done?: (error?: Error) => void): void {
    if (this.phase === 'closed') {
      done?.(new Error('the connection is closed'));
      return;
    }
    this.ws.send(bytes, { binary: true }, done);
  }

  /** Close with `code` and `reason` (cut to what a close frame holds). Idempotent. */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    try {
      this.ws.close(code, closeReason(reason));
    } catch {
      // A socket that is not open yet (or is gone) cannot take a close frame; drop it instead.
      this.ws.terminate();
    }
    this.handlers.closed(this, { code, reason, byUs: true });
  }

  private closedByPeer(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const refusal = this.wsRefusal;
    if (refusal?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.handlers.closed(this, { code: PeerCloseCode.frameTooLarge, reason: `invalid frame: over the size cap of ${this.codec.maxFrameBytes} bytes`, byUs: true });
    } else if (refusal) {
      // ws's messages name the fault (an invalid opcode, a bad close code), never the payload.
      this.handlers.closed(this, { code: PeerCloseCode.protocolError, reason: `invalid WebSocket frame: ${refusal.message}`, byUs: true });
    } else {
      this.handlers.closed(this, { code, reason: reason || describeCode(code), byUs: false });
    }
  }

  private received(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.phase === 'closed') return;
    this.lastHeardAt = this.clock.now();
    if (!isBinary) return this.refuseFrame('a text frame; peer frames are binary MessagePack');
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const decoded = this.codec.decode(bytes);
    if (!decoded.ok) return this.refuseFrame(decoded.error);
    const frame = decoded.frame;
    if (this.phase === 'hello') {
      if (frame.type !== 'hello') return this.refuseFrame(`the first frame is ${frame.type}, not hello`);
      this.hello = frame;
      this.handlers.hello(this, frame);
      return;
    }
    switch (frame.type) {
      case 'hello':
        return this.refuseFrame('a second hello');
      case 'ping':
        return this.write(this.codec.encode({ type: 'pong', nonce: frame.nonce }));
      case 'pong':
        return;
      default:
        this.handlers.frame(this, frame);
    }
  }

  private refuseFrame(why: string): void {
    if (this.phase === 'hello') {
      this.handlers.helloFailed(this, { reason: 'invalid-hello', code: PeerCloseCode.invalidFrame, message: `invalid hello: ${why}` });
      return;
    }
    this.close(PeerCloseCode.invalidFrame, `invalid frame: ${why}`);
  }

  private armHeartbeat(): void {
    if (this.timing.pingIntervalMs <= 0) return;
    this.cancelTimer = this.clock.setTimer(this.timing.pingIntervalMs, () => {
      if (this.phase !== 'up') return;
      const silentFor = this.clock.now() - this.lastHeardAt;
      if (silentFor > this.timing.idleTimeoutMs) {
        this.close(PeerCloseCode.heartbeatTimeout, `nothing heard for ${silentFor} ms`);
        return;
      }
      this.pingNonce = (this.pingNonce + 1) >>> 0;
      this.write(this.codec.encode({ type: 'ping', nonce: this.pingNonce }));
      this.armHeartbeat();
    });
  }
}

function describeCode(code: number): string {
  if (code === 1006) return 'the connection dropped';
  if (code === PeerCloseCode.frameTooLarge) return 'a frame was over the size cap';
  return `closed with code ${code}`;
}
