import type { Clock } from '../clock/index.js';

export const DEFAULT_PING_TIMEOUT_MS = 10_000;
/** The watch looks at the link at least this often, so a dead one is noticed at most this late. */
const MAX_CHECK_EVERY_MS = 1000;

export interface LinkWatchPorts {
  /** Send a WebSocket ping (the orchestrator's `ws` answers it with a pong). */
  ping(): void;
  /** Nothing came back in time: end the socket at once (no closing handshake: nobody would answer it). */
  dead(silentForMs: number): void;
}

/**
 * Notices a dead or half-open link. TCP alone does not: a peer that vanished, or a middlebox that
 * stopped forwarding, leaves the socket open until a write times out minutes later (KiCI's agent
 * waited for exactly that). While the link is quiet the watch pings it; when no frame of any kind
 * (message, pong or ping) has arrived for `timeoutMs`, the link is declared dead. A busy link needs
 * no pings: every frame counts as a sign of life.
 */
export class LinkWatch {
  private lastHeard = 0;
  private lastPing = 0;
  private cancel: (() => void) | undefined;
  private readonly checkEvery: number;
  /** A quiet link is pinged every quarter timeout (at the next check): one lost pong never ends it. */
  private readonly pingEvery: number;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly ports: LinkWatchPorts,
  ) {
    this.pingEvery = Math.max(10, Math.floor(timeoutMs / 4));
    this.checkEvery = Math.min(MAX_CHECK_EVERY_MS, this.pingEvery);
  }

  /** Start watching a link that just opened. */
  start(): void {
    this.stop();
    this.lastHeard = this.clock.now();
    this.lastPing = this.lastHeard;
    this.schedule();
  }

  /** Any frame from the other side. */
  heard(): void {
    this.lastHeard = this.clock.now();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private schedule(ms = this.checkEvery, confirming = false): void {
    this.cancel = this.clock.setTimer(ms, () => {
      this.cancel = undefined;
      const silent = this.clock.now() - this.lastHeard;
      if (silent >= this.timeoutMs) {
        // Look once more after the frames already received are read: a timer that fires late
        // because the event loop was blocked must not take a busy link for a dead one.
        return confirming ? this.ports.dead(silent) : this.schedule(0, true);
      }
      // A quiet link gets pings, so a live one always has a pong on its way.
      const now = this.clock.now();
      if (silent >= this.pingEvery && now - this.lastPing >= this.pingEvery) {
        this.lastPing = now;
        this.ports.ping();
      }
      this.schedule();
    });
  }
}
