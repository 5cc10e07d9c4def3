import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentHub } from '../../agents/index.js';
import type { UpgradeHandler } from '../http/server.js';

/** The same cap as KiCI's clients: a defence against compression bombs. */
const MAX_FRAME_BYTES = 25 * 1024 * 1024;
/**
 * How long a closed connection may take to answer the close frame before its socket is destroyed.
 * A half-open peer (gone without a FIN, which is what a heartbeat timeout usually closes) never
 * answers, and `ws` would otherwise hold the socket for its own 30 s.
 */
const CLOSE_ANSWER_MS = 5_000;

/**
 * Adapts `ws` to the hub's AgentSocket: text frames in, text frames out, close with a code, and
 * pings and pongs in as signs of life. Binary frames are handed over as text so the schema check
 * rejects them the same way.
 */
export function agentSocketUpgrade(hub: AgentHub, addressOf: (req: IncomingMessage) => string): { upgrade: UpgradeHandler; close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => connect(hub, ws, addressOf(req)));
  };
  return {
    upgrade,
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

function connect(hub: AgentHub, ws: WebSocket, remoteAddress: string): void {
  const session = hub.attach({
    remoteAddress,
    send: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    close: (code, reason) => {
      if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
      ws.close(code, reason);
      const destroy = setTimeout(() => ws.terminate(), CLOSE_ANSWER_MS);
      destroy.unref();
      ws.once('close', () => clearTimeout(destroy));
    },
  });
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? '' : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString();
    session.receive(text);
  });
  // `ws` answers pings by itself; the session still hears of them: an idle agent only pings.
  ws.on('ping', () => session.pinged());
  ws.on('pong', () => session.pinged());
  ws.on('close', () => session.socketClosed());
  ws.on('error', () => session.socketClosed());
}
