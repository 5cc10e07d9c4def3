/**
 * Which members the leader counts as alive: itself, any member it has a live link to, and one
 * whose link has been down for less than the stale timeout (a blip is not a death). A member it
 * has never heard from counts from when this node started, so a slow start is not a death either.
 */
import type { Clock } from '../clock/index.js';

export class Liveness {
  private readonly downSince = new Map<string, number>();
  private readonly startedAt: number;

  constructor(
    private readonly self: string,
    private readonly clock: Clock,
    private readonly staleMs: number,
  ) {
    this.startedAt = clock.now();
  }

  linkDown(node: string): void {
    this.downSince.set(node, this.clock.now());
  }

  linkUp(node: string): void {
    this.downSince.delete(node);
  }

  alive(node: string, linkUp: boolean): boolean {
    if (node === this.self || linkUp) return true;
    return this.clock.now() - (this.downSince.get(node) ?? this.startedAt) < this.staleMs;
  }
}
