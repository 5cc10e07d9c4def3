import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy between an agent and the orchestrator that a test can cut (every open
 * connection is destroyed and new ones are refused) and restore. Cutting with `destroy` rather than
 * `end` looks to both sides like a broken link, not a polite close.
 */
export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private open = true;
  private holdingUp = false;
  private readonly held = new Map<Socket, Buffer[]>();
  /** Connections `freeze` stopped: nothing passes and neither end learns when the other goes. */
  private readonly frozen = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** How many client connections are currently piped through. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Destroy every open connection and refuse new ones until `restore`. */
  cut(): void {
    this.open = false;
    this.held.clear();
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.open = true;
    this.holdingUp = false;
  }

  /**
   * Keep the connections up but stop passing what clients send (held, in order, until `release`):
   * the orchestrator's frames still reach the agent, the agent's replies do not reach it.
   */
  holdUpstream(): void {
    this.holdingUp = true;
  }

  /** Pass on what was held and carry on as normal. */
  releaseUpstream(): void {
    this.holdingUp = false;
    for (const [a, b] of this.pairs) {
      for (const chunk of this.held.get(a) ?? []) b.write(chunk);
    }
    this.held.clear();
  }

  /**
   * Make every open connection half-open: stop passing bytes both ways and stop reading, without
   * closing anything, and when one end gives up the other is not told (as when a middlebox or a
   * peer vanishes). New connections pass as normal.
   */
  freeze(): void {
    for (const pair of this.pairs) {
      const [client, upstream] = pair;
      this.pairs.delete(pair);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.frozen.add(client).add(upstream);
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.frozen) socket.destroy();
    this.frozen.clear();
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (!this.open) return void client.destroy();
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      // A frozen connection's other end keeps waiting, as it would for a peer that vanished.
      if (this.frozen.has(client)) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (!this.holdingUp) return void upstream.write(chunk);
      this.held.set(client, [...(this.held.get(client) ?? []), chunk]);
    });
    upstream.pipe(client);
  }
}
