/**
 * A node's links to its peers: one listening port, one dialler per known peer, one link per pair,
 * and on each link ordered one-way messages and requests with deadlines. What travels is the
 * caller's (kinds registered in `PeerKinds`); this class moves it, judges who it talks to, and
 * says when a peer comes and goes.
 *
 * One link per pair: both nodes may dial each other at once, and the race is settled before
 * either dial completes (the lower node id's dial wins, the other is closed with 4100; see
 * `adopt`). A node does not dial a peer it has a link with.
 *
 * Delivery is in order and at most once: a frame handed to a socket that then drops is lost, and
 * frames still queued go out on the next link. Requests are tied to the link they went out on.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';
import type { ZodType } from 'zod';
import { FailedAuthLimit, normaliseAddress } from '../../auth-guard/index.js';
import { nodeIdentity, type NodeIdentity } from '../../certificates/index.js';
import { type Clock, type Random, systemClock, systemRandom } from '../../clock/index.js';
import {
  type AnyPeerKind,
  type HelloFrame,
  PEER_PROTOCOL_VERSION,
  PeerCloseCode,
  peerCloseCodeName,
  PeerCodec,
  type PeerFrame,
  PeerFrameTooLargeError,
  type PeerKinds,
  type PeerMessageKind,
  type PeerRequestKind,
  type RequestFrame,
  type ResponseFrame,
} from '../peer-protocol/index.js';
import { describeIssues } from '../peer-protocol/codec.js';
import { PeerAdmission } from './admission.js';
import { ReconnectBackoff } from './backoff.js';
import { type ConnectionClose, type LinkDirection, PeerConnection } from './connection.js';
import { dialPeer, formatPeerAddress, type PeerAddress, parsePeerAddress } from './dial.js';
import { PeerBackPressureError, PeerLinkDownError, PeerRequestFailedError, UnknownPeerError } from './errors.js';
import { PeerLinksEvents, type PeerLinksEventMap } from './events.js';
import type { PeerFaults } from './faults.js';
import { type CertificateJudgement, judgeCertificate, judgeHello, type PeerRefusal } from './judgement.js';
import { type PeerLogger, silentPeerLogger } from './logger.js';
import { type PeerLinksOptions, type PeerLinksSettings, peerLinksSettings } from './options.js';
import { type JoinDoor, PeerServer } from './peer-server.js';
import { PendingRequests } from './pending-requests.js';
import { SendQueue } from './send-queue.js';
import { peerTlsOptions, type PeerTlsOptions } from './tls-material.js';

/** Who a frame came from: the identity its certificate names (judged, and agreeing with its hello). */
export type PeerIdentity = NodeIdentity;

export interface RequestContext {
  /** The instant (this node's clock) after which the requester no longer waits; an answer after it is not sent. */
  deadline: number;
}

export type MessageListener<T> = (from: PeerIdentity, body: T) => void;
export type RequestHandler<Q, R> = (from: PeerIdentity, body: Q, context: RequestContext) => R | Promise<R>;

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

interface DialAttempt {
  abort(): void;
  /** Set once the socket opened: the connection waits for the server's hello. */
  connection?: PeerConnection;
}

/** What this node keeps about one peer. */
class Peer {
  address: PeerAddress | undefined;
  link: PeerConnection | undefined;
  dialing: DialAttempt | undefined;
  cancelRetry: (() => void) | undefined;
  lastDialFailure: string | undefined;

  constructor(
    readonly nodeId: string,
    readonly queue: SendQueue,
    readonly backoff: ReconnectBackoff,
  ) {}
}

export class PeerLinks {
  readonly nodeId: string;
  readonly clusterId: string;
  private readonly settings: PeerLinksSettings;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: PeerLogger;
  private readonly kinds: PeerKinds;
  private readonly codec: PeerCodec;
  private readonly tls: PeerTlsOptions;
  private readonly identity: NodeIdentity;
  private readonly caCertificatePem: string;
  private readonly revokedSerials: () => Iterable<string>;
  private readonly admission: PeerAdmission;
  private readonly faults: PeerFaults | undefined;
  private readonly events: PeerLinksEvents;
  private readonly peers = new Map<string, Peer>();
  private readonly connections = new Set<PeerConnection>();
  private readonly pending: PendingRequests;
  private readonly messageListeners = new Map<string, Set<MessageListener<unknown>>>();
  private readonly requestHandlers = new Map<string, RequestHandler<unknown, unknown>>();
  private readonly listenAt: { host: string; port: number } | undefined;
  private server: PeerServer | undefined;
  private bound: { host: string; port: number } | undefined;
  private nextConnectionId = 0;
  private closed = false;
  private readonly stopFaultListener: () => void;

  constructor(private readonly options: PeerLinksOptions) {
    this.settings = peerLinksSettings(options);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.log = options.logger ?? silentPeerLogger;
    this.kinds = options.kinds;
    this.codec = new PeerCodec({ kinds: options.kinds, maxFrameBytes: this.settings.maxFrameBytes });
    this.identity = options.credentials.identity;
    this.nodeId = this.identity.nodeId;
    this.clusterId = options.credentials.ca.clusterId;
    if (this.identity.clusterId !== this.clusterId) throw new TypeError(`peer links: the node certificate names cluster ${this.identity.clusterId}, the CA is cluster ${this.clusterId}'s`);
    this.caCertificatePem = options.credentials.ca.certificatePem;
    this.tls = peerTlsOptions(options.credentials);
    this.revokedSerials = options.revokedSerials ?? (() => []);
    this.faults = options.faults;
    this.events = new PeerLinksEvents(this.log);
    this.admission = new PeerAdmission(options.authFailures ?? new FailedAuthLimit(this.clock), this.log, this.events);
    this.pending = new PendingRequests(this.clock);
    this.listenAt = options.listen;
    this.stopFaultListener = this.faults?.onPartition((peerId) => this.cutPeer(peerId, 'partitioned by fault injection')) ?? (() => undefined);
  }

  /** Open the listening port, if one was configured; resolves with the address bound. */
  async start(): Promise<{ host: string; port: number } | undefined> {
    if (this.closed) throw new Error('peer links: closed');
    if (!this.listenAt || this.server) return this.bound;
    this.server = new PeerServer({
      ...this.listenAt,
      tls: this.tls,
      maxFrameBytes: this.settings.maxFrameBytes,
      accepted: (ws, socket) => this.accepted(ws, socket),
      tlsFailed: (failure) => this.admission.tlsFailed(failure),
      join: this.joinDoor,
    });
    this.bound = await this.server.listen();
    this.log.info({ nodeId: this.nodeId, ...this.bound }, 'peer port listening');
    return this.bound;
  }

  /** The join door handed in, with refusals counted against the joiner's address. */
  private get joinDoor(): JoinDoor | undefined {
    const door = this.options.join;
    if (!door) return undefined;
    return {
      caCertificatePem: door.caCertificatePem,
      admit: async (body, raw) => {
        const address = normaliseAddress(raw);
        // An address past its limit is refused before the door reads a token or the database.
        if (this.admission.isLimited(address)) {
          this.admission.joinRefused(address, 'too_many_failures');
          return { status: 429, body: { error: 'too_many_failures', message: 'too many failed authentications' } };
        }
        const answer = await door.admit(body, address);
        if (answer.status !== 400 && answer.status !== 403) return answer;
        const error = (answer.body as { error?: string } | undefined)?.error ?? 'refused';
        const verdict = this.admission.joinRefused(address, error);
        return verdict.limited ? { status: 429, body: { error: 'too_many_failures', message: 'too many failed authentications' } } : answer;
      },
    };
  }

  /** The address the peer port is bound to, once started. */
  get address(): { host: string; port: number } | undefined {
    return this.bound;
  }

  on<K extends keyof PeerLinksEventMap>(name: K, listener: (event: PeerLinksEventMap[K]) => void): () => void {
    return this.events.on(name, listener);
  }

  /** Know `nodeId` at `address` (`host:port`) and keep a link to it; a known peer gets its new address. */
  addPeer(nodeId: string, address: string | PeerAddress): void {
    if (this.closed) throw new Error('peer links: closed');
    if (!NODE_ID.test(nodeId)) throw new TypeError(`peer id ${JSON.stringify(nodeId)} is not a node id`);
    if (nodeId === this.nodeId) throw new TypeError(`node ${nodeId} is this node`);
    const peer = this.peerOf(nodeId);
    peer.address = typeof address === 'string' ? parsePeerAddress(address) : address;
    this.dial(peer);
  }

  /** Forget `nodeId`: its link is closed (1000), its queue dropped and its requests failed. */
  removePeer(nodeId: string): void {
    const peer = this.peers.get(nodeId);
    if (!peer) return;
    this.peers.delete(nodeId);
    this.stopDialling(peer);
    peer.queue.clear();
    peer.link?.close(PeerCloseCode.normal, 'peer removed');
  }

  /** Deliver `body` to every listener of `kind` when a message of it arrives. */
  onMessage<T>(kind: PeerMessageKind<T>, listener: MessageListener<T>): () => void {
    this.ownKind(kind, 'message');
    const set = this.messageListeners.get(kind.kind) ?? new Set();
    set.add(listener as MessageListener<unknown>);
    this.messageListeners.set(kind.kind, set);
    return () => set.delete(listener as MessageListener<unknown>);
  }

  /** Answer requests of `kind`; one handler per kind. A throw answers with an error (see PeerRequestFailedError). */
  handle<Q, R>(kind: PeerRequestKind<Q, R>, handler: RequestHandler<Q, R>): () => void {
    this.ownKind(kind, 'request');
    if (this.requestHandlers.has(kind.kind)) throw new TypeError(`request kind "${kind.kind}" already has a handler`);
    this.requestHandlers.set(kind.kind, handler as RequestHandler<unknown, unknown>);
    return () => this.requestHandlers.delete(kind.kind);
  }

  /**
   * Queue a one-way message to `peerId`, after every message queued before it. False when the
   * peer's queue would pass its byte cap (nothing was queued: back-pressure). Throws on a body
   * that fails its schema or a frame over the size cap: those are the caller's bugs.
   */
  send<T>(peerId: string, kind: PeerMessageKind<T>, body: T): boolean {
    this.ownKind(kind, 'message');
    const peer = this.knownPeer(peerId);
    const bytes = this.codec.encode({ type: 'message', kind: kind.kind, body: this.checkedBody(kind.body, body, `message "${kind.kind}"`) });
    if (!peer.queue.offer({ bytes })) {
      this.log.debug({ peer: peerId, kind: kind.kind, queuedBytes: peer.queue.queuedBytes }, 'peer queue full');
      return false;
    }
    this.pump(peer);
    return true;
  }

  /**
   * Ask `peerId` and wait for its answer, at most `timeoutMs` on the injected clock. Rejects with
   * PeerRequestTimeoutError, PeerLinkDownError (the peer is down, or its link dropped while
   * waiting), PeerBackPressureError (its queue is full) or PeerRequestFailedError (it answered
   * with an error).
   */
  request<Q, R>(peerId: string, kind: PeerRequestKind<Q, R>, body: Q, options: { timeoutMs: number }): Promise<R> {
    this.ownKind(kind, 'request');
    const peer = this.knownPeer(peerId);
    const checked = this.checkedBody(kind.request, body, `request "${kind.kind}"`);
    const timeoutMs = options.timeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('request: timeoutMs must be a positive integer');
    const link = peer.link;
    if (!link?.isUp) return Promise.reject(new PeerLinkDownError(peerId, 'not connected'));
    const { id, answer } = this.pending.open(peerId, kind.kind, link.id, timeoutMs);
    try {
      const bytes = this.codec.encode({ type: 'request', id, kind: kind.kind, timeoutMs, body: checked });
      if (!peer.queue.offer({ bytes, wanted: () => this.pending.isOpen(id) })) {
        this.pending.fail(id, new PeerBackPressureError(peerId, peer.queue.queuedBytes, peer.queue.maxBytes));
      }
    } catch (error) {
      this.pending.fail(id, error as Error);
    }
    this.pump(peer);
    return answer as Promise<R>;
  }

  isUp(peerId: string): boolean {
    return this.peers.get(peerId)?.link?.isUp ?? false;
  }

  /** The peers with a link up now. */
  connectedPeers(): PeerIdentity[] {
    return [...this.peers.values()].filter((p) => p.link?.isUp).map((p) => p.link!.certificate);
  }

  /**
   * The public key (SPKI DER) of the certificate `peerId`'s link was admitted with, while it is up:
   * what is sealed to that peer (a master-key handover) opens only with the key of the node on the link.
   */
  publicKeyOf(peerId: string): Buffer | undefined {
    const link = this.peers.get(peerId)?.link;
    if (!link?.isUp) return undefined;
    return new X509Certificate(link.certificateDer).publicKey.export({ type: 'spki', format: 'der' });
  }

  /** The link to `peerId` that is up: which side dialled it, and the remote address. */
  linkOf(peerId: string): { direction: LinkDirection; address: string } | undefined {
    const link = this.peers.get(peerId)?.link;
    return link?.isUp ? { direction: link.direction, address: link.address } : undefined;
  }

  /** Bytes waiting in `peerId`'s queue. */
  queuedBytes(peerId: string): number {
    return this.peers.get(peerId)?.queue.queuedBytes ?? 0;
  }

  /**
   * Close the link to `peerId` at once (4109), and any dial of it in its hello. The peer stays
   * known: its dialler tries again after backoff, and is judged again then.
   */
  cutPeer(peerId: string, reason = 'cut by this node'): boolean {
    const peer = this.peers.get(peerId);
    let cut = false;
    for (const connection of [...this.connections]) {
      if (connection.certificate.nodeId !== peerId) continue;
      connection.close(PeerCloseCode.cut, reason);
      cut = true;
    }
    if (peer?.dialing && !peer.dialing.connection) {
      peer.dialing.abort();
      peer.dialing = undefined;
      this.scheduleRetry(peer);
    }
    return cut;
  }

  /**
   * The revoked list changed: judge every open link's certificate again and close those that no
   * longer pass (4103 for a revoked one). Returns the node ids cut.
   */
  revocationsChanged(): string[] {
    const cut: string[] = [];
    for (const connection of [...this.connections]) {
      const judgement = this.judge(connection.certificateDer);
      if (judgement.ok) continue;
      const { refusal } = judgement;
      this.log.warn({ peer: connection.certificate.nodeId, serial: connection.certificate.serial, reason: refusal.reason, code: refusal.code }, 'peer link cut: its certificate no longer passes');
      connection.close(refusal.code ?? PeerCloseCode.certificateRefused, refusal.message);
      cut.push(connection.certificate.nodeId);
    }
    return cut;
  }

  /** Close every link (1001), stop dialling and listening, fail every waiting request. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopFaultListener();
    for (const peer of this.peers.values()) this.stopDialling(peer);
    for (const connection of [...this.connections]) connection.close(PeerCloseCode.goingAway, 'node shutting down');
    this.pending.failAll((peerId) => new PeerLinkDownError(peerId, 'the links are closed'));
    await this.server?.close();
  }

  // ---- dialling -------------------------------------------------------------------------------

  private dial(peer: Peer): void {
    if (this.closed || !peer.address || peer.link || peer.dialing || peer.cancelRetry || this.peers.get(peer.nodeId) !== peer) return;
    if (this.faults?.isPartitioned(peer.nodeId)) return this.dialFailed(peer, 'partitioned by fault injection');
    const address = formatPeerAddress(peer.address);
    const attempt: DialAttempt = { abort: () => undefined };
    peer.dialing = attempt;
    attempt.abort = dialPeer(
      {
        address: peer.address,
        expectedNodeId: peer.nodeId,
        tls: this.tls,
        maxFrameBytes: this.settings.maxFrameBytes,
        handshakeTimeoutMs: this.settings.dialTimeoutMs,
        judge: (der) => this.judge(der),
      },
      {
        opened: ({ ws, identity, certificateDer }) => {
          if (peer.dialing !== attempt || this.closed) {
            ws.terminate();
            return;
          }
          const connection = this.connect(ws, 'outbound', address, identity, certificateDer);
          attempt.connection = connection;
          connection.send(this.hello());
        },
        failed: (message, refusal) => {
          if (peer.dialing !== attempt) return;
          peer.dialing = undefined;
          if (refusal) this.events.emit('refused', { direction: 'outbound', address, nodeId: peer.nodeId, reason: refusal.reason, message: refusal.message, limited: false });
          this.dialFailed(peer, message);
        },
      },
    );
  }

  /** Log a failed dial (a repeat of the same failure only at debug) and try again after backoff. */
  private dialFailed(peer: Peer, message: string): void {
    const fields = { peer: peer.nodeId, address: peer.address && formatPeerAddress(peer.address), attempt: peer.backoff.attempts, why: message };
    if (message !== peer.lastDialFailure) this.log.warn(fields, 'peer dial failed');
    else this.log.debug(fields, 'peer dial failed');
    peer.lastDialFailure = message;
    this.scheduleRetry(peer);
  }

  private scheduleRetry(peer: Peer): void {
    if (this.closed || !peer.address || peer.link || peer.dialing || peer.cancelRetry || this.peers.get(peer.nodeId) !== peer) return;
    const delay = peer.backoff.nextDelay();
    peer.cancelRetry = this.clock.setTimer(delay, () => {
      peer.cancelRetry = undefined;
      this.dial(peer);
    });
  }

  private stopDialling(peer: Peer): void {
    peer.cancelRetry?.();
    peer.cancelRetry = undefined;
    if (peer.dialing) {
      peer.dialing.abort();
      peer.dialing.connection?.close(PeerCloseCode.normal, 'dial abandoned');
      peer.dialing = undefined;
    }
  }

  // ---- accepting ------------------------------------------------------------------------------

  private accepted(ws: WebSocket, socket: TLSSocket): void {
    const address = normaliseAddress(socket.remoteAddress ?? 'unknown');
    if (this.closed) {
      ws.close(PeerCloseCode.goingAway, 'node shutting down');
      return;
    }
    const der = socket.getPeerCertificate()?.raw;
    if (!der) {
      this.admission.refuse(address, { reason: 'no-certificate', code: PeerCloseCode.certificateRefused, message: 'no client certificate' }, undefined, (code, reason) => ws.close(code, reason));
      return;
    }
    const judgement = this.judge(der);
    if (!judgement.ok) {
      this.admission.refuse(address, judgement.refusal, claimedNodeId(der), (code, reason) => ws.close(code, reason));
      return;
    }
    this.connect(ws, 'inbound', address, judgement.identity, der);
  }

  // ---- connections ----------------------------------------------------------------------------

  private connect(ws: WebSocket, direction: LinkDirection, address: string, identity: NodeIdentity, der: Buffer): PeerConnection {
    const connection = new PeerConnection({
      id: ++this.nextConnectionId,
      ws,
      direction,
      address,
      certificate: identity,
      certificateDer: der,
      codec: this.codec,
      clock: this.clock,
      timing: this.settings,
      handlers: {
        hello: (c, hello) => this.helloReceived(c, hello),
        helloFailed: (c, refusal) => this.refuseConnection(c, refusal),
        frame: (c, frame) => this.frameReceived(c, frame),
        closed: (c, close) => this.connectionClosed(c, close),
      },
    });
    this.connections.add(connection);
    return connection;
  }

  private hello(): HelloFrame {
    return { type: 'hello', protocolVersion: PEER_PROTOCOL_VERSION, clusterId: this.clusterId, nodeId: this.nodeId, role: this.identity.role };
  }

  private helloReceived(connection: PeerConnection, hello: HelloFrame): void {
    const refusal = judgeHello(hello, { certificate: connection.certificate, clusterId: this.clusterId, selfNodeId: this.nodeId });
    if (refusal) return this.refuseConnection(connection, refusal);
    const nodeId = connection.certificate.nodeId;
    if (this.faults?.isPartitioned(nodeId)) {
      connection.close(PeerCloseCode.cut, 'partitioned by fault injection');
      return;
    }
    this.adopt(connection);
  }

  /** A connection failed its hello phase: counted and logged if inbound; a dial failure if outbound. */
  private refuseConnection(connection: PeerConnection, refusal: PeerRefusal): void {
    if (connection.direction === 'inbound') {
      this.admission.refuse(connection.address, refusal, connection.certificate.nodeId, (code, reason) => connection.close(code, reason));
      return;
    }
    this.events.emit('refused', { direction: 'outbound', address: connection.address, nodeId: connection.certificate.nodeId, reason: refusal.reason, code: refusal.code, message: refusal.message, limited: false });
    connection.close(refusal.code ?? PeerCloseCode.helloMismatch, refusal.message);
  }

  /**
   * The hello agreed: make this connection the pair's link. Two nodes dialling each other at once
   * are settled here, before either dial completes, so no frame goes out on a link that then
   * loses: the lower id's dial wins. A listener whose own dial is already past TLS refuses the
   * other's (4100) if its id is the lower, and abandons its own for the other's if not; a dial
   * still in TLS is abandoned for the link that is already here.
   *
   * A link that completes while another is up (see `wins`) usually means the peer lost the old
   * one — it restarted, or timed it out first — and it replaces the old one without a down event.
   */
  private adopt(connection: PeerConnection): void {
    const nodeId = connection.certificate.nodeId;
    const peer = this.peerOf(nodeId);
    if (peer.dialing?.connection === connection) peer.dialing = undefined;
    const current = peer.link;
    if (current && !this.wins(connection, current, nodeId)) {
      connection.close(PeerCloseCode.duplicateLink, `node ${this.nodeId} already has a link with ${nodeId}, dialled by the lower id`);
      return;
    }
    if (connection.direction === 'inbound' && !current && peer.dialing) {
      const dial = peer.dialing;
      if (dial.connection && this.nodeId < nodeId) {
        connection.close(PeerCloseCode.duplicateLink, `node ${this.nodeId} is completing its own dial to ${nodeId}; the lower id's dial wins`);
        return;
      }
      peer.dialing = undefined;
      dial.abort();
      dial.connection?.close(PeerCloseCode.duplicateLink, `node ${nodeId} dialled too; its link is kept`);
    }
    const replaced = peer.link;
    peer.link = connection;
    // The listener answers the dialler's hello only once it accepted it: a refused dialler hears nothing but the close.
    if (connection.direction === 'inbound') connection.send(this.hello());
    connection.markUp();
    peer.lastDialFailure = undefined;
    if (replaced) {
      // The peer never went down for the caller: no events, and its queue carries on over the new link.
      this.log.info({ peer: nodeId, direction: connection.direction }, 'peer link replaced by a newer one');
      replaced.close(PeerCloseCode.duplicateLink, 'replaced by a newer link');
    } else {
      peer.backoff.connected(this.clock.now());
      this.log.info({ peer: nodeId, role: connection.certificate.role, direction: connection.direction, address: connection.address }, 'peer up');
      this.events.emit('peerUp', { nodeId, role: connection.certificate.role, direction: connection.direction, address: connection.address });
    }
    this.stopRetry(peer);
    this.pump(peer);
  }

  /**
   * Does `candidate` replace the link that is up? Between two dials of the same node the newer
   * wins (that node dials only when it has no link, so it lost the old one). Between dials of the
   * two nodes, the lower id's wins: the higher id's can only be the loser of a race settled in
   * `adopt` whose hello was already on its way, or a restarted node's, which gets in once the old
   * link's heartbeat times out.
   */
  private wins(candidate: PeerConnection, current: PeerConnection, peerId: string): boolean {
    const dialler = (c: PeerConnection): string => (c.direction === 'outbound' ? this.nodeId : peerId);
    if (dialler(candidate) === dialler(current)) return true;
    return dialler(candidate) === (this.nodeId < peerId ? this.nodeId : peerId);
  }

  private stopRetry(peer: Peer): void {
    peer.cancelRetry?.();
    peer.cancelRetry = undefined;
  }

  private connectionClosed(connection: PeerConnection, close: ConnectionClose): void {
    this.connections.delete(connection);
    this.pending.failConnection(connection.id, (peerId) => new PeerLinkDownError(peerId, close.reason));
    const nodeId = connection.certificate.nodeId;
    const peer = this.peers.get(nodeId);
    if (!peer) return;
    if (peer.dialing?.connection === connection) {
      peer.dialing = undefined;
      if (close.code === PeerCloseCode.duplicateLink) return this.scheduleRetry(peer);
      const name = peerCloseCodeName(close.code) ?? String(close.code);
      return this.dialFailed(peer, close.byUs ? close.reason : `the server closed the link (${name}): ${close.reason}`);
    }
    if (peer.link !== connection) return;
    peer.link = undefined;
    peer.backoff.disconnected(this.clock.now());
    const expected = close.code === PeerCloseCode.normal || close.code === PeerCloseCode.goingAway;
    const fields = { peer: nodeId, code: close.code, codeName: peerCloseCodeName(close.code), byUs: close.byUs, why: close.reason };
    if (expected) this.log.info(fields, 'peer down');
    else this.log.warn(fields, 'peer down');
    this.events.emit('peerDown', { nodeId, code: close.code, reason: close.reason });
    this.scheduleRetry(peer);
  }

  // ---- frames ---------------------------------------------------------------------------------

  private frameReceived(connection: PeerConnection, frame: Exclude<PeerFrame, { type: 'hello' | 'ping' | 'pong' }>): void {
    const peer = this.peers.get(connection.certificate.nodeId);
    if (!peer || peer.link !== connection) return;
    const delays = this.faults ? this.faults.plan(peer.nodeId, 'inbound').delaysMs : [0];
    for (const delay of delays) {
      if (delay === 0) this.dispatch(connection, frame);
      else this.clock.setTimer(delay, () => this.dispatch(connection, frame));
    }
  }

  private dispatch(connection: PeerConnection, frame: Exclude<PeerFrame, { type: 'hello' | 'ping' | 'pong' }>): void {
    if (this.closed) return;
    const from = connection.certificate;
    switch (frame.type) {
      case 'message':
        for (const listener of this.messageListeners.get(frame.kind) ?? []) {
          try {
            listener(from, frame.body);
          } catch (error) {
            this.log.error({ peer: from.nodeId, kind: frame.kind, err: (error as Error).message }, 'peer message listener failed');
          }
        }
        return;
      case 'request':
        return this.answer(connection, frame);
      case 'response':
        return this.settle(connection, frame);
    }
  }

  private answer(connection: PeerConnection, frame: RequestFrame): void {
    const deadline = this.clock.now() + frame.timeoutMs;
    const kind = this.kinds.requestKind(frame.kind)!;
    const handler = this.requestHandlers.get(frame.kind);
    const respond = (response: ResponseFrame): void => {
      // The requester stopped waiting: an answer now would only be dropped there.
      if (this.clock.now() > deadline || connection.isClosed || this.closed) return;
      let bytes: Buffer;
      try {
        bytes = this.codec.encode(response);
      } catch (error) {
        if (!(error instanceof PeerFrameTooLargeError)) throw error;
        bytes = this.codec.encode(failure(frame, 'response_too_large', error.message));
      }
      this.deliverOut(connection.certificate.nodeId, connection, bytes);
    };
    if (!handler) return respond(failure(frame, 'no_handler', `node ${this.nodeId} has no handler for ${frame.kind}`));
    Promise.resolve()
      .then(() => handler(connection.certificate, frame.body, { deadline }))
      .then(
        (result) => {
          const checked = kind.response.safeParse(result);
          if (checked.success) return respond({ type: 'response', id: frame.id, kind: frame.kind, ok: true, body: checked.data });
          this.log.error({ kind: frame.kind, why: describeIssues(checked.error.issues) }, 'peer request handler answered outside its schema');
          respond(failure(frame, 'invalid_response', `the answer to ${frame.kind} failed its schema`));
        },
        (error: unknown) => {
          const failed = error instanceof PeerRequestFailedError ? error : undefined;
          respond(failure(frame, failed?.code ?? 'handler_failed', String((error as Error)?.message ?? error).slice(0, 1000)));
        },
      )
      .catch((error: Error) => this.log.error({ kind: frame.kind, err: error.message }, 'peer response not sent'));
  }

  private settle(connection: PeerConnection, frame: ResponseFrame): void {
    const outcome = this.pending.settle(connection.certificate.nodeId, connection.id, frame);
    if (outcome === 'answered') return;
    this.log.debug({ peer: connection.certificate.nodeId, kind: frame.kind, id: frame.id, why: outcome }, 'peer response dropped');
    this.events.emit('responseDropped', { nodeId: connection.certificate.nodeId, kind: frame.kind, id: frame.id, why: outcome });
  }

  // ---- sending --------------------------------------------------------------------------------

  /** Drain the peer's queue in order while its socket buffer is under the high-water mark. */
  private pump(peer: Peer): void {
    const link = peer.link;
    if (!link?.isUp) return;
    while (link.bufferedAmount < this.settings.highWaterBytes) {
      const frame = peer.queue.take();
      if (!frame) return;
      // Each write's completion pumps again, so a queue stopped at the mark resumes as the socket drains.
      this.deliverOut(peer.nodeId, link, frame.bytes, () => {
        if (peer.link === link) this.pump(peer);
      });
    }
  }

  /** Write a caller frame, through the fault hook when there is one. */
  private deliverOut(peerId: string, link: PeerConnection, bytes: Buffer, done?: () => void): void {
    if (!this.faults) return link.write(bytes, done);
    for (const delay of this.faults.plan(peerId, 'outbound').delaysMs) {
      if (delay === 0) link.write(bytes, done);
      else this.clock.setTimer(delay, () => link.write(bytes, done));
    }
  }

  // ---- helpers of the class -------------------------------------------------------------------

  /** Judge a peer's certificate now; a failure to judge at all (the revoked list could not be read) refuses it. */
  private judge(der: Buffer): CertificateJudgement {
    try {
      return judgeCertificate(der, { caCertificatePem: this.caCertificatePem, now: new Date(this.clock.now()), revokedSerials: this.revokedSerials() });
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'peer certificate could not be judged');
      return { ok: false, refusal: { reason: 'judgement-failed', code: PeerCloseCode.certificateRefused, message: 'the certificate could not be judged' } };
    }
  }

  private peerOf(nodeId: string): Peer {
    let peer = this.peers.get(nodeId);
    if (!peer) {
      peer = new Peer(
        nodeId,
        new SendQueue(this.settings.maxQueuedBytes),
        new ReconnectBackoff(
          { initialDelayMs: this.settings.initialReconnectDelayMs, maxDelayMs: this.settings.maxReconnectDelayMs, stableAfterMs: this.settings.stableAfterMs },
          this.random,
        ),
      );
      this.peers.set(nodeId, peer);
    }
    return peer;
  }

  private knownPeer(peerId: string): Peer {
    const peer = this.peers.get(peerId);
    if (!peer) throw new UnknownPeerError(peerId);
    return peer;
  }

  private ownKind(kind: AnyPeerKind | PeerMessageKind<never> | PeerRequestKind<never, never>, style: 'message' | 'request'): void {
    if (kind.style !== style || !this.kinds.owns(kind as AnyPeerKind)) throw new TypeError(`"${kind.kind}" is not a ${style} kind of these links' registry`);
  }

  private checkedBody<T>(schema: ZodType<T>, body: T, what: string): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new TypeError(`${what}: ${describeIssues(parsed.error.issues)}`);
    return parsed.data;
  }
}

function failure(frame: RequestFrame, code: string, message: string): ResponseFrame {
  return { type: 'response', id: frame.id, kind: frame.kind, ok: false, error: { code, message: message.slice(0, 1000) } };
}

/** The node a refused certificate names, for the log line; undefined when it names none. */
function claimedNodeId(der: Buffer): string | undefined {
  try {
    return nodeIdentity(der).nodeId;
  } catch {
    return undefined;
  }
}
