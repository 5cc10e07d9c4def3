/**
 * The chaos harness's fault proxy over real sockets on loopback: an echo (or sink) server, and
 * clients connected to it through the proxy. Each fault is shown to do what it says, and to stop
 * on heal, by what arrives at either end. That something did *not* arrive is judged after a few
 * round trips on a direct connection to another server (the proxy, the client and the server share
 * this process's event loop, so by then the proxy has read whatever was sent before), never after
 * a sleep. Timings are asserted as lower bounds only.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy, MAX_QUEUED_BYTES } from '../../../chaos/fault-proxy.js';
import { SeededRandom } from '../../../src/clock/index.js';

/** One end of a connection: what it received, whether it closed. */
class Peer {
  received = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', () => {}); // resets are expected here; 'close' tells the test
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  get text(): string {
    return this.received.toString();
  }

  /** Everything received once it amounts to `length` bytes (fails if the connection closes first). */
  async receivedAtLeast(length: number): Promise<Buffer> {
    await this.until(() => this.received.length >= length || this.closed);
    if (this.received.length < length) throw new Error(`closed after ${this.received.length} of ${length} bytes: "${this.text.slice(0, 80)}"`);
    return this.received;
  }

  untilClosed(): Promise<void> {
    return this.until(() => this.closed);
  }

  private until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (condition() ? resolve() : void this.waiters.push(check));
      check();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** The far end: keeps each connection as a Peer and, unless a sink, echoes what it receives. */
class LoopbackServer {
  readonly peers: Peer[] = [];
  port = 0;
  private readonly server: Server;
  private arrivals: (() => void)[] = [];

  private constructor(echo: boolean) {
    this.server = createServer((socket) => {
      const peer = new Peer(socket);
      if (echo) socket.on('data', (chunk: Buffer) => socket.write(chunk));
      this.peers.push(peer);
      for (const arrival of this.arrivals.splice(0)) arrival();
    });
  }

  static async start({ echo }: { echo: boolean }): Promise<LoopbackServer> {
    const server = new LoopbackServer(echo);
    server.server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    server.port = (server.server.address() as AddressInfo).port;
    return server;
  }

  /** The server's end of its `index`-th connection, once it has arrived. */
  peer(index: number): Promise<Peer> {
    return new Promise((resolve) => {
      const check = () => (this.peers[index] ? resolve(this.peers[index]) : void this.arrivals.push(check));
      check();
    });
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const clients: Peer[] = [];
const cleanups: (() => Promise<void>)[] = [];
let server: LoopbackServer;
let beacon: LoopbackServer;
let proxy: FaultProxy;

beforeEach(async () => {
  server = await LoopbackServer.start({ echo: true });
  beacon = await LoopbackServer.start({ echo: true });
  proxy = new FaultProxy(server.port);
  await proxy.start();
  cleanups.push(() => proxy.stop(), () => server.stop(), () => beacon.stop());
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connectTo(port: number): Promise<Peer> {
  const socket = connect(port, '127.0.0.1');
  const client = new Peer(socket);
  clients.push(client);
  await once(socket, 'connect');
  return client;
}

/** Send `text` and wait for it to come back; the echo must be exactly it. */
async function echoed(client: Peer, text: string): Promise<void> {
  const before = client.received.length;
  client.socket.write(text);
  await client.receivedAtLeast(before + text.length);
  expect(client.received.subarray(before).toString()).toBe(text);
}

/** A few round trips on a direct connection: what the proxy was going to read, it has read by now. */
async function letTheLoopTurn(): Promise<void> {
  const direct = await connectTo(beacon.port);
  for (let i = 0; i < 5; i++) await echoed(direct, `turn-${i};`);
  direct.socket.destroy();
}

/** Writes each part on its own turn of the loop, so the proxy reads them as separate chunks. */
async function writeApart(client: Peer, parts: string[]): Promise<void> {
  for (const part of parts) {
    client.socket.write(part);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Bytes 0, 1, … 250, 0, 1, …: a shifted or reordered slice does not compare equal. */
function pattern(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => i % 251));
}

async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

// A fault that is not lifted leaves a test waiting: fail it soon rather than after a minute.
describe('FaultProxy', { timeout: 5_000 }, () => {
  it('passes bytes both ways unchanged, counts them, and forgets a connection once both ends close', async () => {
    const connected = once(proxy, 'connection');
    const client = await connectTo(proxy.port);
    expect(await connected).toEqual([1]);
    const data = pattern(100_000);
    client.socket.write(data);
    expect((await client.receivedAtLeast(data.length)).equals(data)).toBe(true);
    expect(proxy.bytes).toEqual({ upstream: 100_000, downstream: 100_000 });
    expect(proxy.accepted).toBe(1);
    expect(proxy.connections).toBe(1);
    expect(proxy.activeFaults).toEqual([]);

    const disconnected = once(proxy, 'disconnect');
    client.socket.end(); // the server ends in turn, through the proxy
    await client.untilClosed();
    expect(await disconnected).toEqual([1]);
    expect(proxy.connections).toBe(0);
  });

  it('cut destroys open connections at both ends and refuses new ones until restored', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'before');
    const serverSide = await server.peer(0);

    proxy.cut();
    await Promise.all([client.untilClosed(), serverSide.untilClosed()]);
    expect(proxy.connections).toBe(0);
    expect(proxy.activeFaults).toEqual(['cut']);

    const refused = await connectTo(proxy.port);
    await refused.untilClosed();
    expect(refused.text).toBe('');
    expect(proxy.refused).toBe(1);
    expect(proxy.accepted).toBe(1);
    expect(server.peers).toHaveLength(1);

    proxy.restore();
    await echoed(await connectTo(proxy.port), 'after');
  });

  it('freeze: nothing passes either way, neither end hears the other go, new connections pass; heal destroys the frozen', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'hello');
    const serverSide = await server.peer(0);

    proxy.freeze();
    client.socket.write('lost');
    serverSide.socket.write('unseen');
    serverSide.socket.destroy(); // the server gives up on the link
    await serverSide.untilClosed();
    await letTheLoopTurn();
    expect(serverSide.text).toBe('hello');
    expect(client.text).toBe('hello');
    expect(client.closed).toBe(false);
    expect(proxy.connections).toBe(1);
    expect(proxy.activeFaults).toEqual(['frozen (1 connections)']);

    await echoed(await connectTo(proxy.port), 'fresh');

    proxy.heal();
    await client.untilClosed();
    expect(client.text).toBe('hello');
  });

  it('freeze with newConnections: a new client connects but is never answered until heal', async () => {
    const earlier = await connectTo(proxy.port);
    await echoed(earlier, 'a');

    proxy.freeze({ newConnections: true });
    const later = await connectTo(proxy.port);
    later.socket.write('knock');
    await letTheLoopTurn();
    expect(server.peers).toHaveLength(1);
    expect(later.text).toBe('');
    expect(later.closed).toBe(false);
    expect(proxy.accepted).toBe(2);
    expect(proxy.connections).toBe(2);

    proxy.heal();
    await Promise.all([earlier.untilClosed(), later.untilClosed()]);
    expect(proxy.connections).toBe(0);
    await echoed(await connectTo(proxy.port), 'healed');
  });

  it('dropDirection upstream: what the client sends is lost, what the server sends arrives, the link stays up', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'x');
    const serverSide = await server.peer(0);

    proxy.dropDirection('upstream');
    client.socket.write('lost');
    serverSide.socket.write('down');
    await client.receivedAtLeast('xdown'.length);
    await letTheLoopTurn();

    proxy.heal();
    await echoed(client, 'back');
    // 'back' went after 'lost' on the same connection: had 'lost' passed, the server would show it.
    expect(serverSide.text).toBe('xback');
    expect(proxy.droppedBytes).toEqual({ upstream: 4, downstream: 0 });
  });

  it('dropDirection downstream: the server gets what the client sends, its answers are lost', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'x');
    const serverSide = await server.peer(0);

    proxy.dropDirection('downstream');
    client.socket.write('ping');
    await serverSide.receivedAtLeast('xping'.length); // and it echoed 'ping'
    await letTheLoopTurn();
    expect(client.text).toBe('x');
    expect(client.closed).toBe(false);

    proxy.heal();
    await echoed(client, 'pong');
    expect(client.text).toBe('xpong');
    expect(proxy.droppedBytes.downstream).toBe(4);
  });

  it('holdUpstream keeps what the client sends, in order, until released; downstream still passes', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'x');
    const serverSide = await server.peer(0);

    proxy.holdUpstream();
    await writeApart(client, ['h', 'e', 'l', 'd']);
    serverSide.socket.write('down');
    await client.receivedAtLeast('xdown'.length);
    await letTheLoopTurn();
    expect(serverSide.text).toBe('x');

    proxy.releaseUpstream();
    await serverSide.receivedAtLeast('xheld'.length);
    expect(serverSide.text).toBe('xheld');
  });

  it('restore after a cut lifts the upstream hold too: the link comes back clean', async () => {
    proxy.holdUpstream();
    await connectTo(proxy.port);
    proxy.cut();
    proxy.restore();
    expect(proxy.activeFaults).toEqual([]);
    await echoed(await connectTo(proxy.port), 'clean');
  });

  it('delay keeps the order of each direction, chunk by chunk', async () => {
    proxy.delay({ minMs: 0, maxMs: 25 }, new SeededRandom(42));
    const client = await connectTo(proxy.port);
    const parts = Array.from({ length: 200 }, (_, i) => `${i},`);
    await writeApart(client, parts);
    const expected = parts.join('');
    await client.receivedAtLeast(expected.length);
    expect(client.text).toBe(expected);
  });

  it('delay holds each chunk at least minMs each way', async () => {
    const client = await connectTo(proxy.port);
    proxy.delay({ minMs: 80, maxMs: 100 }, new SeededRandom(7));
    expect(proxy.activeFaults).toEqual(['delay 80–100 ms']);
    const started = performance.now();
    await echoed(client, 'ping');
    // Up and back again; timers may fire up to a millisecond early by performance.now.
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 80 - 2);
  });

  it('bandwidth: N bytes at B bytes/s take at least (N − burst)/B each way, arrive whole and in order, and the proxy queues a bounded amount', async () => {
    const sink = await LoopbackServer.start({ echo: false });
    const narrow = new FaultProxy(sink.port);
    await narrow.start();
    cleanups.push(() => sink.stop(), () => narrow.stop());
    const bytesPerSecond = 400_000;
    const burstBytes = 20_000;
    const data = pattern(200_000);
    const leastMs = ((data.length - burstBytes) / bytesPerSecond) * 1000 - 2;
    narrow.bandwidth(bytesPerSecond, { burstBytes });
    const client = await connectTo(narrow.port);

    let mostQueued = 0;
    const sampleQueue = () => (mostQueued = Math.max(mostQueued, narrow.queuedBytes));
    let started = performance.now();
    client.socket.write(data);
    const far = await sink.peer(0);
    far.socket.on('data', sampleQueue);
    await far.receivedAtLeast(data.length);
    expect(performance.now() - started).toBeGreaterThanOrEqual(leastMs);
    expect(far.received.equals(data)).toBe(true);

    started = performance.now();
    client.socket.on('data', sampleQueue);
    far.socket.write(data);
    await client.receivedAtLeast(data.length);
    expect(performance.now() - started).toBeGreaterThanOrEqual(leastMs);
    expect(client.received.equals(data)).toBe(true);

    expect(narrow.bytes).toEqual({ upstream: data.length, downstream: data.length });
    // Backpressure: the proxy stops reading past MAX_QUEUED_BYTES (one more read may land).
    expect(mostQueued).toBeGreaterThan(0);
    expect(mostQueued).toBeLessThanOrEqual(2 * MAX_QUEUED_BYTES);
  });

  it('heal passes on at once, in order, what was delayed and held', async () => {
    const client = await connectTo(proxy.port);
    await echoed(client, 'x');
    proxy.delay({ minMs: 60_000, maxMs: 60_000 }, new SeededRandom(3));
    await writeApart(client, ['a', 'b']);
    proxy.holdUpstream();
    await writeApart(client, ['c', 'd']);
    await letTheLoopTurn();
    proxy.heal();
    expect(proxy.activeFaults).toEqual([]);
    await client.receivedAtLeast('xabcd'.length);
    expect(client.text).toBe('xabcd');
  });

  it('survives a target that refuses and a server that resets: the client is closed, nothing throws', async () => {
    const nowhere = new FaultProxy(await closedPort());
    await nowhere.start();
    cleanups.push(() => nowhere.stop());
    const refusedOnward = await connectTo(nowhere.port);
    await refusedOnward.untilClosed();

    const client = await connectTo(proxy.port);
    await echoed(client, 'x');
    (await server.peer(0)).socket.resetAndDestroy();
    await client.untilClosed();
    await echoed(await connectTo(proxy.port), 'still here');
  });

  it('restarts on the same fixed port, so the address it stands for stays the same', async () => {
    const { port } = proxy;
    const client = await connectTo(port);
    await echoed(client, 'one');
    await proxy.stop();
    await client.untilClosed();
    await proxy.start(port);
    expect(proxy.port).toBe(port);
    await echoed(await connectTo(port), 'two');
  });

  it('refuses a delay or bandwidth that means nothing', () => {
    const random = new SeededRandom(1);
    expect(() => proxy.delay({ minMs: 50, maxMs: 10 }, random)).toThrow(RangeError);
    expect(() => proxy.delay({ minMs: -1, maxMs: 10 }, random)).toThrow(RangeError);
    expect(() => proxy.bandwidth(0)).toThrow(RangeError);
    expect(() => proxy.bandwidth(1000, { burstBytes: 0 })).toThrow(RangeError);
    expect(proxy.activeFaults).toEqual([]);
  });
});
