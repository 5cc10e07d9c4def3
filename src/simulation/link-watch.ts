/**
 * Which peers a process is in touch with, as the transport's peer links judge it: every frame from
 * a peer counts as a sign of life, a quiet link is pinged every `pingMs`, and a link silent for
 * `staleMs` is down (closed and reported, as a real link is). Up again at the next frame.
 */
import type { PeerCalls } from './peer-calls.js';
import type { ProcessClock } from './process-clock.js';

export interface LinkTiming {
  /** KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS. */
  pingMs: number;
  /** KICI_CLUSTER_PEER_STALE_TIMEOUT_MS. */
  staleMs: number;
}

export interface LinkEvents {
  up(node: string): void;
  down(node: string): void;
}

export class LinkWatch {
  private readonly lastHeard = new Map<string, number>();
  private readonly up = new Set<string>();

  constructor(
    private readonly peers: readonly string[],
    private readonly calls: PeerCalls,
    private readonly clock: ProcessClock,
    private readonly timing: LinkTiming,
    private readonly events: LinkEvents,
  ) {
    calls.handle('ping', () => undefined);
  }

  start(): void {
    const tick = () => {
      for (const peer of this.peers) this.calls.tell(peer, 'ping', null);
      this.check();
      this.clock.setTimer(this.timing.pingMs, tick);
    };
    tick();
  }

  /** A frame from `node` arrived. */
  heard(node: string): void {
    this.lastHeard.set(node, this.clock.now());
    if (this.up.has(node) || !this.peers.includes(node)) return;
    this.up.add(node);
    this.events.up(node);
  }

  isUp(node: string): boolean {
    return this.up.has(node);
  }

  connected(): string[] {
    return this.peers.filter((p) => this.up.has(p));
  }

  private check(): void {
    const now = this.clock.now();
    for (const peer of this.peers) {
      if (!this.up.has(peer) || now - (this.lastHeard.get(peer) ?? 0) < this.timing.staleMs) continue;
      this.up.delete(peer);
      this.events.down(peer);
    }
  }
}
