import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CloseCode,
  parseAgentFrame,
  type AgentMessage,
  type OrchestratorMessageInput,
} from '../../../src/transport/agent-protocol/index.js';

export interface FakeConnection {
  socket: WebSocket;
  frames: AgentMessage[];
  closed: boolean;
  send(message: OrchestratorMessageInput): void;
}

export interface FakeOrchestratorOptions {
  goodToken?: string;
  /** Close with 4010 after auth.failure (the usual) or only close 4010 without the frame. */
  authFailureFrame?: boolean;
  registerAckDelayMs?: number;
  /** Keep register.ack back until `releaseRegisterAck()` (a test decides when the agent is registered). */
  holdRegisterAck?: boolean;
  /** Ack terminal statuses automatically. */
  autoAck?: boolean;
  /** While true, new sockets are closed at once (an outage). */
  refuse?: boolean;
  /** Answer no pings (and, with `mute`, nothing at all): a half-open link as the agent sees it. */
  autoPong?: boolean;
  /** While true, frames from the agent are recorded but never answered. */
  mute?: boolean;
}

/** The orchestrator side of `/ws`, just enough protocol to drive a real agent connection. */
export class FakeOrchestrator {
  readonly connections: FakeConnection[] = [];
  /** Every socket that reached the server, refused ones included. */
  sockets = 0;
  private heldAcks: (() => void)[] = [];
  private readonly server: WebSocketServer;
  readonly ready: Promise<void>;

  constructor(readonly options: FakeOrchestratorOptions = {}) {
    this.server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: options.autoPong ?? true });
    this.ready = new Promise((resolve) => this.server.once('listening', () => resolve()));
    this.server.on('connection', (socket) => this.accept(socket));
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws`;
  }

  /** Send the register.ack frames held back by `holdRegisterAck`. */
  releaseRegisterAck(): void {
    for (const ack of this.heldAcks.splice(0)) ack();
  }

  get last(): FakeConnection | undefined {
    return this.connections.at(-1);
  }

  /** Every frame of every connection, in order. */
  allFrames(): AgentMessage[] {
    return this.connections.flatMap((c) => c.frames);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    this.sockets += 1;
    if (this.options.refuse) {
      socket.close(CloseCode.goingAway, 'outage');
      return;
    }
    const conn: FakeConnection = {
      socket,
      frames: [],
      closed: false,
      send: (message) => socket.send(JSON.stringify(message)),
    };
    this.connections.push(conn);
    socket.on('close', () => (conn.closed = true));
    socket.on('message', (data) => {
      const parsed = parseAgentFrame(data as Buffer);
      if (!parsed.ok) throw new Error(`agent sent an invalid frame: ${parsed.error}`);
      conn.frames.push(parsed.message);
      this.answer(conn, parsed.message);
    });
  }

  private answer(conn: FakeConnection, message: AgentMessage): void {
    if (this.options.mute) return;
    const ts = Date.now();
    if (message.type === 'auth.request') {
      if (message.token === (this.options.goodToken ?? 'good-token')) {
        conn.send({ type: 'auth.success', timestamp: ts, connectionId: `c${this.connections.length}` });
      } else {
        if (this.options.authFailureFrame !== false) conn.send({ type: 'auth.failure', reason: 'Invalid token' });
        conn.socket.close(CloseCode.agentAuthFailed, 'bad token');
      }
    } else if (message.type === 'agent.register') {
      const ack = (): void => conn.send({ type: 'register.ack', agentId: message.agentId, labels: message.labels });
      if (this.options.holdRegisterAck) this.heldAcks.push(ack);
      else if (this.options.registerAckDelayMs) setTimeout(ack, this.options.registerAckDelayMs);
      else ack();
    } else if (this.options.autoAck && (message.type === 'job.status' || message.type === 'step.status')) {
      if (!['running'].includes(message.state)) conn.send({ type: 'ack', messageId: message.messageId });
    }
  }
}
