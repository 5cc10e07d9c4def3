/**
 * A TCP fault proxy on loopback. The chaos harness puts one in front of every node's cluster port
 * (peer links) and on every agent's link to its node; it passes bytes through and, on demand,
 * breaks the link the ways real networks do: cut, half-open, one-way, slow, narrow. Every fault
 * can be set at any time and `heal()` lifts them all. Real `node:net` sockets, so the processes
 * under test see real TCP behaviour (the e2e harness's `TcpProxy` is this class).
 *
 * Words: a *connection* is one client connection and the proxy's own connection to the target;
 * its bytes go *upstream* (client → target) and *downstream* (target → client), each direction a
 * *flow* with its own queue, so the faults of one direction never reorder its bytes.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Random } from '../src/clock/index.js';

/** Which way bytes go: upstream from the connecting side to the target, downstream back. */
export type Direction = 'upstream' | 'downstream';

/** Each chunk waits a uniform draw from [minMs, maxMs] (whole milliseconds). */
export interface DelayRange {
  minMs: number;
  maxMs: number;
}

export interface BandwidthOptions {
  /** What a quiet direction may send at once (the token bucket's size). Default: 50 ms worth, at least 1 byte. */
  burstBytes?: number;
}

export interface FreezeOptions {
  /** Also freeze the connections accepted from now until `heal` (the link stays half-open a while). */
  newConnections?: boolean;
}

export interface FaultProxyEvents {
  /** A client connection was let in (passed through, or frozen); its number (1, 2, …). */
  connection: [id: number];
  /** Both ends of that connection are gone. */
  disconnect: [id: number];
}

/**
 * Above this many bytes waiting in one direction of one connection, the proxy stops reading from
 * its source: TCP's own flow control then holds the sender back, and memory stays bounded.
 */
export const MAX_QUEUED_BYTES = 64 * 1024;

type PerDirection = Record<Direction, number>;

interface Delay {
  range: DelayRange;
  random: Random;
}

interface Bandwidth {
  bytesPerSecond: number;
  burstBytes: number;
}

/** The faults in force on the link; every connection reads them as its bytes arrive and leave. */
class LinkFaults {
  /** Cut: new connections are refused. */
  refusing = false;
  /** What clients send is kept (in order) rather than passed on. */
  holdingUpstream = false;
  /** New connections are accepted and never answered (`freeze({ newConnections: true })`). */
  freezingNew = false;
  readonly dropped = new Set<Direction>();
  delay: Delay | null = null;
  bandwidth: Bandwidth | null = null;

  lift(): void {
    this.refusing = false;
    this.holdingUpstream = false;
    this.freezingNew = false;
    this.dropped.clear();
    this.delay = null;
    this.bandwidth = null;
  }
}

interface Counters {
  bytes: PerDirection;
  dropped: PerDirection;
}

/** Tokens are bytes; they accrue at the limit's rate up to its burst. */
interface TokenBucket {
  limit: Bandwidth;
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
}

interface QueuedChunk {
  chunk: Buffer;
  /** performance.now() before which it may not leave (0: no delay). */
  dueAt: number;
}

/** Errors (ECONNRESET, EPIPE, ECONNREFUSED) are what a faulty link is for; 'close' does the work. */
function ignoreSocketError(): void {}

/** One direction of one connection: bytes read from `source`, faults applied, written to `sink`. */
class Flow {
  private queue: QueuedChunk[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private bucket: TokenBucket | null = null;
  private awaitingDrain = false;
  private sourceEnded = false;
  private ending = false;
  private frozen = false;
  /** The sink was ended after everything queued had been written. */
  finished = false;

  constructor(
    readonly direction: Direction,
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly faults: LinkFaults,
    private readonly counters: Counters,
    private readonly onFinished: () => void,
  ) {
    source.on('data', (chunk: Buffer) => this.receive(chunk));
    source.on('end', () => this.endOfSource());
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /** Stop passing and stop reading; nothing is closed and no end is forwarded. */
  freeze(): void {
    this.frozen = true;
    this.cancelTimer();
    this.source.pause();
  }

  /** The source will send nothing more: end the sink once the queue has gone out. */
  endOfSource(): void {
    this.sourceEnded = true;
    this.pump();
  }

  /** Pass on what the faults allow now, and come back by timer for the rest. */
  pump(): void {
    if (this.frozen) return;
    this.cancelTimer();
    this.passWhatIsDue();
    this.adjustReading();
    if (this.queue.length === 0 && this.sourceEnded) this.finish();
  }

  dispose(): void {
    this.cancelTimer();
    this.queue = [];
    this.queued = 0;
  }

  private receive(chunk: Buffer): void {
    if (this.frozen) return;
    if (this.faults.dropped.has(this.direction)) {
      this.counters.dropped[this.direction] += chunk.length;
      return;
    }
    this.queue.push({ chunk, dueAt: this.dueAt() });
    this.queued += chunk.length;
    this.pump();
  }

  /**
   * A fresh draw per chunk. The queue is first in, first out and only its head is timed, so a
   * later chunk never leaves before an earlier one (TCP does not reorder).
   */
  private dueAt(): number {
    const delay = this.faults.delay;
    if (!delay) return 0;
    return performance.now() + delay.random.int(delay.range.minMs, delay.range.maxMs);
  }

  private passWhatIsDue(): void {
    while (this.queue.length > 0) {
      const waitMs = this.waitBeforeHead();
      if (waitMs === Infinity) return;
      if (waitMs > 0) return this.retryIn(waitMs);
      this.write(this.takeFromHead());
    }
  }

  /** 0 when the head may go now, Infinity while it is held, else how long until it may. */
  private waitBeforeHead(): number {
    if (this.direction === 'upstream' && this.faults.holdingUpstream) return Infinity;
    const head = this.queue[0];
    const now = performance.now();
    if (this.faults.delay && head.dueAt > now) return head.dueAt - now;
    const bucket = this.refilledBucket(now);
    if (!bucket) return 0;
    // Wait for a whole slice rather than trickling single bytes out on a timer each.
    const wanted = Math.min(head.chunk.length, bucket.limit.burstBytes);
    if (bucket.tokens >= wanted) return 0;
    return ((wanted - bucket.tokens) / bucket.limit.bytesPerSecond) * 1000;
  }

  /** The token bucket of the bandwidth in force (a new limit starts with a full bucket). */
  private refilledBucket(now: number): TokenBucket | null {
    const limit = this.faults.bandwidth;
    if (!limit) return (this.bucket = null);
    if (this.bucket?.limit !== limit) return (this.bucket = { limit, tokens: limit.burstBytes, at: now });
    const earned = ((now - this.bucket.at) / 1000) * limit.bytesPerSecond;
    this.bucket.tokens = Math.min(limit.burstBytes, this.bucket.tokens + earned);
    this.bucket.at = now;
    return this.bucket;
  }

  /** The head chunk, or as much of it as the bandwidth allows now (the rest stays at the head). */
  private takeFromHead(): Buffer {
    const head = this.queue[0];
    const allowed = this.bucket ? Math.max(1, Math.floor(this.bucket.tokens)) : head.chunk.length;
    const taken = head.chunk.subarray(0, allowed);
    if (taken.length === head.chunk.length) this.queue.shift();
    else head.chunk = head.chunk.subarray(taken.length);
    if (this.bucket) this.bucket.tokens -= taken.length;
    this.queued -= taken.length;
    return taken;
  }

  private write(chunk: Buffer): void {
    if (!this.sink.writable) return; // the other end is gone: what was in flight goes with it
    this.counters.bytes[this.direction] += chunk.length;
    if (this.sink.write(chunk) || this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.sink.once('drain', () => {
      this.awaitingDrain = false;
      this.adjustReading();
    });
  }

  /** Read from the source only while the queue and the sink have room (backpressure). */
  private adjustReading(): void {
    if (this.frozen || this.source.destroyed) return;
    const room = this.queued <= MAX_QUEUED_BYTES && !this.awaitingDrain;
    if (room && this.source.isPaused()) this.source.resume();
    else if (!room && !this.source.isPaused()) this.source.pause();
  }

  private finish(): void {
    if (this.ending) return;
    this.ending = true;
    const done = () => {
      this.finished = true;
      this.onFinished();
    };
    if (this.sink.writable) this.sink.end(done);
    else done();
  }

  private retryIn(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** One client connection and the proxy's connection to the target, with a flow each way. */
class Connection {
  private readonly upstream: Flow;
  private readonly downstream: Flow;
  frozen = false;
  private gone = false;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly target: Socket,
    faults: LinkFaults,
    counters: Counters,
    private readonly onGone: (connection: Connection) => void,
  ) {
    for (const socket of [client, target]) {
      socket.setNoDelay(true); // the proxy must not add Nagle's latency to small frames
      socket.on('error', ignoreSocketError);
      socket.on('close', (hadError: boolean) => this.socketClosed(socket, hadError));
    }
    this.upstream = new Flow('upstream', client, target, faults, counters, () => this.settle());
    this.downstream = new Flow('downstream', target, client, faults, counters, () => this.settle());
  }

  get flows(): Flow[] {
    return [this.upstream, this.downstream];
  }

  /** Half-open: nothing passes or is read, nothing is closed, and neither end hears of the other. */
  freeze(): void {
    this.frozen = true;
    for (const flow of this.flows) flow.freeze();
  }

  /** Both ends at once, as a broken link (destroy, not end). */
  destroy(): void {
    this.client.destroy();
    this.target.destroy();
  }

  private socketClosed(socket: Socket, hadError: boolean): void {
    if (!this.frozen) {
      // A reset or a refused connect: the link is broken, so the other end learns it at once.
      if (hadError) this.other(socket).destroy();
      else this.flowFrom(socket).endOfSource();
    }
    this.settle();
  }

  /** Once an end is gone and what it sent has been passed on, the other end goes too. */
  private settle(): void {
    if (this.client.destroyed && this.target.destroyed) return this.forget();
    if (this.frozen) return;
    for (const flow of this.flows) {
      const [from, to] = flow === this.upstream ? [this.client, this.target] : [this.target, this.client];
      if (from.destroyed && flow.finished && !to.destroyed) to.destroy();
    }
  }

  private forget(): void {
    if (this.gone) return;
    this.gone = true;
    for (const flow of this.flows) flow.dispose();
    this.onGone(this);
  }

  private other(socket: Socket): Socket {
    return socket === this.client ? this.target : this.client;
  }

  private flowFrom(socket: Socket): Flow {
    return socket === this.client ? this.upstream : this.downstream;
  }
}

/**
 * The proxy: listens on 127.0.0.1 and connects each client to `targetHost:targetPort`. Faults set
 * stay set across `stop`/`start` (they belong to the link, not to its connections) until `heal`.
 */
export class FaultProxy extends EventEmitter<FaultProxyEvents> {
  /** The port it listens on (known after `start`). */
  port = 0;
  private server?: Server;
  private readonly faults = new LinkFaults();
  private readonly open = new Set<Connection>();
  /** Connections accepted under `freeze({ newConnections: true })`: never connected onward. */
  private readonly unanswered = new Map<Socket, number>();
  private readonly counters: Counters = { bytes: { upstream: 0, downstream: 0 }, dropped: { upstream: 0, downstream: 0 } };
  private acceptedCount = 0;
  private refusedCount = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    super();
  }

  /** `host:port` clients connect to (what a node advertises when its peers go through the proxy). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Client connections open now (frozen ones included, until heal or cut destroys them). */
  get connections(): number {
    return this.open.size + this.unanswered.size;
  }

  /** Client connections let in since the proxy was made (refused ones not counted). */
  get accepted(): number {
    return this.acceptedCount;
  }

  /** Client connections refused while cut. */
  get refused(): number {
    return this.refusedCount;
  }

  /** Bytes passed on each way. */
  get bytes(): Readonly<PerDirection> {
    return { ...this.counters.bytes };
  }

  /** Bytes discarded each way by `dropDirection`. */
  get droppedBytes(): Readonly<PerDirection> {
    return { ...this.counters.dropped };
  }

  /** Bytes waiting in the proxy (delayed, held or throttled), all connections and directions. */
  get queuedBytes(): number {
    let total = 0;
    for (const connection of this.open) for (const flow of connection.flows) total += flow.queuedBytes;
    return total;
  }

  /** The faults in force, for people: `cut`, `delay 10–50 ms`, … (empty: plain passthrough). */
  get activeFaults(): string[] {
    const f = this.faults;
    const frozen = [...this.open].filter((c) => c.frozen).length;
    return [
      ...(f.refusing ? ['cut'] : []),
      ...(frozen > 0 ? [`frozen (${frozen} connections)`] : []),
      ...(f.freezingNew ? ['freezing new connections'] : []),
      ...(f.holdingUpstream ? ['holding upstream'] : []),
      ...[...f.dropped].map((d) => `dropping ${d}`),
      ...(f.delay ? [`delay ${f.delay.range.minMs}–${f.delay.range.maxMs} ms`] : []),
      ...(f.bandwidth ? [`bandwidth ${f.bandwidth.bytesPerSecond} B/s`] : []),
    ];
  }

  /** Listen on 127.0.0.1:`port` (0: any free port; a fixed one keeps the address across restarts). */
  async start(port = 0): Promise<void> {
    if (this.server) throw new Error(`fault proxy already listening on ${this.address}`);
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', ignoreSocketError); // e.g. EMFILE on accept: that client is lost, the proxy stays
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Close every connection and stop listening. */
  async stop(): Promise<void> {
    this.destroyConnections(() => true);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Destroy every open connection (a broken link, not a close) and refuse new ones until `restore`. */
  cut(): void {
    this.faults.refusing = true;
    this.destroyConnections(() => true);
  }

  /**
   * Let connections in again. The upstream hold is lifted too: the connections it applied to went
   * with the cut (the agent-recovery e2e test holds, cuts, restores and expects a clean link).
   */
  restore(): void {
    this.faults.refusing = false;
    this.faults.holdingUpstream = false;
    this.pumpAll();
  }

  /**
   * Half-open: every open connection stops passing bytes both ways and stops reading, nothing is
   * closed, and when one end gives up the other is not told (a peer or middlebox that vanished).
   * With `newConnections`, connections accepted until `heal` are never answered either.
   */
  freeze(options: FreezeOptions = {}): void {
    for (const connection of this.open) connection.freeze();
    if (options.newConnections) this.faults.freezingNew = true;
  }

  /** One-way loss: bytes going `direction` are discarded until `heal`; the connection stays up. */
  dropDirection(direction: Direction): void {
    this.faults.dropped.add(direction);
  }

  /**
   * Keep the connections up but stop passing what clients send (kept in order until released):
   * the target's bytes still reach the client, the client's replies do not reach the target.
   */
  holdUpstream(): void {
    this.faults.holdingUpstream = true;
  }

  /** Pass on what was held, in order, and carry on as normal. */
  releaseUpstream(): void {
    this.faults.holdingUpstream = false;
    this.pumpAll();
  }

  /** Latency: each chunk waits a draw from [minMs, maxMs]; one direction's chunks keep their order. */
  delay(range: DelayRange, random: Random): void {
    const { minMs, maxMs } = range;
    if (!Number.isInteger(minMs) || !Number.isInteger(maxMs) || minMs < 0 || maxMs < minMs) {
      throw new RangeError(`delay needs whole milliseconds 0 ≤ minMs ≤ maxMs, got ${minMs}–${maxMs}`);
    }
    this.faults.delay = { range: { minMs, maxMs }, random };
  }

  /** A narrow link: each direction of each connection passes at most `bytesPerSecond`. */
  bandwidth(bytesPerSecond: number, options: BandwidthOptions = {}): void {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new RangeError(`bandwidth needs a positive number of bytes per second, got ${bytesPerSecond}`);
    }
    const burstBytes = options.burstBytes ?? Math.max(1, Math.floor(bytesPerSecond / 20));
    if (!Number.isInteger(burstBytes) || burstBytes < 1) throw new RangeError(`burstBytes must be a whole number ≥ 1, got ${burstBytes}`);
    this.faults.bandwidth = { bytesPerSecond, burstBytes };
  }

  /**
   * Back to plain passthrough: every fault lifted, what was delayed, held or throttled passed on
   * at once in order. Frozen connections stay dead: they are destroyed (their ends have long
   * given up on each other, or should).
   */
  heal(): void {
    this.faults.lift();
    this.destroyConnections((connection) => connection.frozen);
    this.pumpAll();
  }

  private accept(client: Socket): void {
    client.on('error', ignoreSocketError);
    if (this.faults.refusing) {
      this.refusedCount++;
      return void client.destroy();
    }
    const id = ++this.acceptedCount;
    if (this.faults.freezingNew) this.leaveUnanswered(client, id);
    else this.connectOnward(client, id);
    this.emit('connection', id);
  }

  private connectOnward(client: Socket, id: number): void {
    const target = connect({ port: this.targetPort, host: this.targetHost, allowHalfOpen: true });
    const connection = new Connection(id, client, target, this.faults, this.counters, (gone) => {
      this.open.delete(gone);
      this.emit('disconnect', gone.id);
    });
    this.open.add(connection);
  }

  /** The client's connect succeeds, then nothing: no bytes either way and no connection onward. */
  private leaveUnanswered(client: Socket, id: number): void {
    client.pause();
    this.unanswered.set(client, id);
    client.on('close', () => {
      if (this.unanswered.delete(client)) this.emit('disconnect', id);
    });
  }

  /** The open connections `which` picks, and every unanswered one (those are all frozen). */
  private destroyConnections(which: (connection: Connection) => boolean): void {
    for (const connection of this.open) if (which(connection)) connection.destroy();
    for (const client of this.unanswered.keys()) client.destroy();
  }

  private pumpAll(): void {
    for (const connection of this.open) for (const flow of connection.flows) flow.pump();
  }
}
