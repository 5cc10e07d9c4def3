/**
 * The listening end: an HTTPS server on the cluster port (KICI_CLUSTER_PORT, 4001 by default;
 * the HTTP port serves everything else) that speaks only TLS 1.3 and upgrades `/ws/peer` to a
 * WebSocket only for a client certificate the cluster CA signed. The one exchange open to a client
 * without a certificate is joining (`GET /cluster/ca`, `POST /cluster/join`), which a join token
 * authenticates, and only on a node that admits joiners. Everything else is 404. Judging the peer
 * beyond TLS (revocations, hello) is the links' business: this hands over the socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import { JOIN_CA_PATH, JOIN_PATH, MAX_JOIN_REQUEST_BYTES } from '../peer-protocol/index.js';
import type { PeerTlsOptions } from './tls-material.js';

/** What answers joiners: the CA certificate to show, and the decision on a request. */
export interface JoinDoor {
  caCertificatePem: string;
  /** `body` is the parsed JSON (unvalidated); the answer is sent as JSON with its status. */
  admit(body: unknown, address: string): Promise<{ status: number; body: unknown }>;
}

export const PEER_PATH = '/ws/peer';
/** The cluster port when KICI_CLUSTER_PORT is not set. */
export const DEFAULT_CLUSTER_PORT = 4001;

export interface PeerServerInit {
  host: string;
  port: number;
  tls: PeerTlsOptions;
  maxFrameBytes: number;
  /** A WebSocket on `/ws/peer` from a client whose certificate TLS accepted. */
  accepted(ws: WebSocket, socket: TLSSocket): void;
  /**
   * A TLS handshake that did not complete: refused by OpenSSL (no certificate), refused by node
   * after it (`authorizationError`: a certificate the CA did not sign), or broken off by the client.
   */
  tlsFailed(failure: { address: string | undefined; code: string; authorizationError: string | undefined }): void;
  /** Set on a node that admits joiners; without it the join paths are 404. */
  join?: JoinDoor;
}

export class PeerServer {
  private readonly server: https.Server;
  private readonly wss: WebSocketServer;

  constructor(private readonly init: PeerServerInit) {
    // A TLS handshake gets 10 s (node's default is 120): a peer is a machine on the cluster's network.
    // Client certificates are asked for but checked here, not by OpenSSL: a joiner has none yet.
    this.server = https.createServer({ ...init.tls, requestCert: true, rejectUnauthorized: false, handshakeTimeout: 10_000 }, (request, response) => {
      void this.request(request, response);
    });
    // A peer must complete its request quickly; a slow one holds a socket it has not earned.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: init.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    // A refused handshake reaches us on a destroyed socket that no longer knows its address, so
    // each TCP socket's address is noted as it arrives, before TLS wraps it (node keeps the TCP
    // socket as the TLS socket's `_parent`; there is no public way from one to the other).
    const addresses = new WeakMap<object, string>();
    this.server.prependListener('connection', (raw: Socket) => {
      if (raw.remoteAddress) addresses.set(raw, raw.remoteAddress);
    });
    this.server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
      const parent = (socket as TLSSocket & { _parent?: object })._parent;
      const address = socket.remoteAddress ?? (parent ? addresses.get(parent) : undefined);
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      init.tlsFailed({ address, code: error.code ?? 'unknown', authorizationError });
    });
    this.server.on('upgrade', (request, socket, head) => {
      const tlsSocket = socket as TLSSocket;
      const path = (request.url ?? '').split('?')[0];
      if (path !== PEER_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!tlsSocket.authorized) {
        const presented = Boolean(tlsSocket.getPeerCertificate()?.raw);
        init.tlsFailed({
          address: tlsSocket.remoteAddress,
          code: presented ? 'CERTIFICATE_REFUSED' : 'CERTIFICATE_REQUIRED',
          authorizationError: presented && tlsSocket.authorizationError ? String(tlsSocket.authorizationError) : undefined,
        });
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => init.accepted(ws, tlsSocket));
    });
  }

  /** The join paths; everything else that is not an upgrade is 404. */
  private async request(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    const door = this.init.join;
    const json = (status: number, body: unknown): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (door && request.method === 'GET' && path === JOIN_CA_PATH) {
      response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(door.caCertificatePem);
      return;
    }
    if (!door || request.method !== 'POST' || path !== JOIN_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const text = await readBody(request, MAX_JOIN_REQUEST_BYTES);
    if (text === undefined) return json(413, { error: 'invalid_request', message: `a join request is at most ${MAX_JOIN_REQUEST_BYTES} bytes` });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return json(400, { error: 'invalid_request', message: 'the join request is not JSON' });
    }
    try {
      const answer = await door.admit(body, request.socket.remoteAddress ?? 'unknown');
      json(answer.status, answer.body);
    } catch {
      json(503, { error: 'unavailable', message: 'the node could not decide the join; try again' });
    }
  }

  /** Start listening; resolves with the address actually bound (port 0 picks a free one). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      this.server.once('error', failed);
      this.server.listen(this.init.port, this.init.host, () => {
        this.server.off('error', failed);
        const address = this.server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Stop listening and drop connections not yet upgraded (upgraded ones are the links' to close). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The request body as text, or undefined past `limit` bytes (the rest is not read). */
function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(undefined));
  });
}
