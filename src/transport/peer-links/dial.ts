/**
 * The dialling end: a WebSocket over TLS to a peer's `/ws/peer`, presenting this node's
 * certificate, trusting only the cluster CA, and checking during the handshake that the server's
 * certificate is a valid, unrevoked node certificate of this cluster naming the node we meant to
 * reach. Host names are not checked: peers are known by node id, and the certificate names it.
 */
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { type ClientOptions, WebSocket } from 'ws';
import type { NodeIdentity } from '../../certificates/index.js';
import type { CertificateJudgement, PeerRefusal } from './judgement.js';
import { PEER_PATH } from './peer-server.js';
import type { PeerTlsOptions } from './tls-material.js';

export interface PeerAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`: the form peers are configured with. */
export function parsePeerAddress(text: string): PeerAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65_535) throw new TypeError(`peer address ${JSON.stringify(text)} is not host:port or [ipv6]:port`);
  return { host: match[1] ?? match[2]!, port };
}

export function formatPeerAddress({ host, port }: PeerAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface DialInit {
  address: PeerAddress;
  expectedNodeId: string;
  tls: PeerTlsOptions;
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  /** Judge the server's certificate (CA, revocations, dates) at the moment of the handshake. */
  judge(certificateDer: Buffer): CertificateJudgement;
}

export interface Dialled {
  ws: WebSocket;
  identity: NodeIdentity;
  certificateDer: Buffer;
}

export interface DialOutcome {
  /** The socket is open and the server is who we dialled. */
  opened(dialled: Dialled): void;
  /** The dial failed before opening; `refusal` when it was this side refusing the server's certificate. */
  failed(message: string, refusal?: PeerRefusal): void;
}

/** Start one dial; the returned function abandons it. */
export function dialPeer(init: DialInit, outcome: DialOutcome): () => void {
  let judged: { identity: NodeIdentity; der: Buffer } | undefined;
  let refusal: PeerRefusal | undefined;
  let lastError: Error | undefined;
  let settled = false;
  const tlsOptions: ConnectionOptions = {
    ...init.tls,
    checkServerIdentity: (_host: string, certificate: PeerCertificate) => {
      const der = certificate.raw;
      const judgement = init.judge(der);
      if (!judgement.ok) {
        refusal = judgement.refusal;
        return new Error(judgement.refusal.message);
      }
      if (judgement.identity.nodeId !== init.expectedNodeId) {
        refusal = { reason: 'wrong-peer', code: undefined, message: `the server is node ${judgement.identity.nodeId}, not ${init.expectedNodeId}` };
        return new Error(refusal.message);
      }
      judged = { identity: judgement.identity, der };
      return undefined;
    },
  };
  // ws hands its options to tls.connect; its typings know an older checkServerIdentity signature.
  const ws = new WebSocket(`wss://${formatPeerAddress(init.address)}${PEER_PATH}`, {
    ...(tlsOptions as ClientOptions),
    maxPayload: init.maxFrameBytes,
    handshakeTimeout: init.handshakeTimeoutMs,
    perMessageDeflate: false,
    followRedirects: false,
  });
  ws.on('error', (error) => {
    lastError = error;
  });
  ws.on('unexpected-response', (_request, response) => {
    lastError = new Error(`the server answered HTTP ${response.statusCode} instead of upgrading`);
    ws.terminate();
  });
  ws.once('open', () => {
    if (settled) return;
    settled = true;
    outcome.opened({ ws, identity: judged!.identity, certificateDer: judged!.der });
  });
  ws.once('close', (code, reason) => {
    if (settled) return;
    settled = true;
    const why = refusal?.message ?? lastError?.message ?? (reason.length ? reason.toString('utf8') : `closed with code ${code}`);
    outcome.failed(why, refusal);
  });
  return () => {
    if (settled) return;
    settled = true;
    ws.terminate();
  };
}
