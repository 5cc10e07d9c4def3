/**
 * One process's side of the peer mesh in the simulation: one-way messages and requests with a
 * deadline over the simulated network, as the transport's peer links give them to the wiring
 * (`links.handle`, `links.request`). A request not answered by its deadline fails; an answer that
 * comes later, or twice (a duplicated frame), is ignored.
 */
import type { Frame, SimNetwork } from './network.js';
import type { ProcessClock } from './process-clock.js';

type Handler = (from: string, body: unknown) => unknown;

interface Call {
  id: string;
  kind: string;
  body: unknown;
}

type Reply = { id: string; ok: true; value: unknown } | { id: string; ok: false; error: string };

export class PeerCallTimeoutError extends Error {
  constructor(to: string, kind: string, ms: number) {
    super(`${to} did not answer ${kind} within ${ms} ms`);
    this.name = 'PeerCallTimeoutError';
  }
}

export class PeerCalls {
  private next = 0;
  private readonly waiting = new Map<string, { resolve(value: unknown): void; reject(error: Error): void; cancel(): void }>();
  private readonly handlers = new Map<string, Handler>();
  /** Told of every frame that arrives, whatever it carries (a link is up while frames come). */
  onFrame: (from: string) => void = () => undefined;

  constructor(
    readonly node: string,
    /** Which process of the node this is: ids carry it, so an answer meant for a process before a crash never reaches the next one. */
    private readonly incarnation: number,
    private readonly net: SimNetwork,
    private readonly clock: ProcessClock,
  ) {}

  /** Answer `kind` messages and requests with `handler` (its value, or what its promise resolves to). */
  handle(kind: string, handler: Handler): void {
    this.handlers.set(kind, handler);
  }

  tell(to: string, kind: string, body: unknown): void {
    this.net.send({ from: this.node, to, kind, body });
  }

  request<T>(to: string, kind: string, body: unknown, timeoutMs: number): Promise<T> {
    const id = `${this.incarnation}.${++this.next}`;
    return new Promise<T>((resolve, reject) => {
      const cancel = this.clock.setTimer(timeoutMs, () => {
        this.waiting.delete(id);
        reject(new PeerCallTimeoutError(to, kind, timeoutMs));
      });
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, cancel });
      this.net.send({ from: this.node, to, kind: 'call', body: { id, kind, body } satisfies Call });
    });
  }

  /** A frame that landed on this process. */
  receive(frame: Frame): void {
    if (!this.clock.running) return;
    this.onFrame(frame.from);
    if (frame.kind === 'reply') return this.replied(frame.body as Reply);
    if (frame.kind === 'call') return void this.answer(frame.from, frame.body as Call);
    this.handlers.get(frame.kind)?.(frame.from, frame.body);
  }

  private async answer(from: string, call: Call): Promise<void> {
    const handler = this.handlers.get(call.kind);
    let reply: Reply;
    try {
      if (!handler) throw new Error(`no handler for ${call.kind}`);
      reply = { id: call.id, ok: true, value: await handler(from, call.body) };
    } catch (e) {
      reply = { id: call.id, ok: false, error: (e as Error).message };
    }
    // A process that died while it worked on the answer sends nothing.
    if (this.clock.running) this.net.send({ from: this.node, to: from, kind: 'reply', body: reply });
  }

  private replied(reply: Reply): void {
    const w = this.waiting.get(reply.id);
    if (!w) return;
    this.waiting.delete(reply.id);
    w.cancel();
    if (reply.ok) w.resolve(reply.value);
    else w.reject(new Error(reply.error));
  }
}
