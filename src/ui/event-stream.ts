import type { ServerResponse } from 'node:http';

/** Seconds between `: ping` comments: keeps proxies from closing a quiet feed and shows a dead one. */
export const PING_MS = 15_000;

/**
 * One open Server-Sent Events response. Writes after the browser left, or after the orchestrator
 * began to stop, are dropped rather than thrown: a feed's poll may still be finishing when either
 * happens.
 */
export class EventStream {
  private ended = false;
  private readonly ping: NodeJS.Timeout;
  private readonly onEnd: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    pingMs: number,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A proxy that buffers (nginx does by default) would hold events back until the response ends.
      'x-accel-buffering': 'no',
    });
    // Headers and a first byte now, so the browser's `open` fires before the first event is read.
    res.write(': open\n\n');
    this.ping = setInterval(() => this.comment('ping'), pingMs);
    this.ping.unref();
    res.on('close', () => this.end());
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** `data` is sent as one line of JSON (JSON has no raw newlines, so it never splits an event). */
  send(event: string, data: unknown): void {
    if (this.ended) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  whenEnded(fn: () => void): void {
    if (this.ended) fn();
    else this.onEnd.push(fn);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ping);
    if (!this.res.writableEnded) this.res.end();
    for (const fn of this.onEnd.splice(0)) fn();
  }

  private comment(text: string): void {
    if (!this.ended) this.res.write(`: ${text}\n\n`);
  }
}

/**
 * Every feed open on this node, so a stop ends them all at once: an open response would otherwise
 * keep the listener from closing, and the browser reconnects to another node anyway.
 */
export class OpenFeeds {
  private readonly open = new Set<EventStream>();
  private stopped = false;

  constructor(private readonly pingMs = PING_MS) {}

  /** A new stream on `res`, or undefined once the node is stopping (the caller answers 503). */
  start(res: ServerResponse): EventStream | undefined {
    if (this.stopped) return undefined;
    const stream = new EventStream(res, this.pingMs);
    this.open.add(stream);
    stream.whenEnded(() => this.open.delete(stream));
    return stream;
  }

  get count(): number {
    return this.open.size;
  }

  /** Ends every open feed now; it does not wait for their polls to notice. */
  stop(): void {
    this.stopped = true;
    for (const stream of [...this.open]) stream.end();
  }
}
