/**
 * The listening end: an HTTPS server on the cluster port (KICI_CLUSTER_PORT, 4001 by default;
 * the HTTP port serves everything else) that speaks only TLS with client certificates signed by
 * the cluster CA, and upgrades `/ws/peer` to a WebSocket. A client without a certificate, or with
 * one another CA signed, never gets past the handshake. Everything else is 404. Judging the peer
 * beyond TLS (revocations, hello) is the links' business: this hands over the socket.
 */
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import type { PeerTlsOptions } from './tls-material.js';

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
}

export class PeerServer {
  private readonly server: https.Server;
  private readonly wss: WebSocketServer;

  constructor(private readonly init: PeerServerInit) {
    // A TLS handshake gets 10 s (node's default is 120): a peer is a machine on the cluster's network.
    this.server = https.createServer({ ...init.tls, requestCert: true, rejectUnauthorized: true, handshakeTimeout: 10_000 }, (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
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
      // rejectUnauthorized already refused unauthorised clients; checking again costs nothing.
      if (path !== PEER_PATH || !tlsSocket.authorized) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => init.accepted(ws, tlsSocket));
    });
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
