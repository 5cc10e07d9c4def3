/**
 * The network between the simulated nodes, carrying frames of any kind between named nodes (Raft
 * messages, actor envelopes, agent offers and commands, link pings). Every frame gets a seeded
 * delay within bounds. Links are cut one way or both ways, and cuts nest (a link cut by two
 * overlapping faults stays cut until both heal); a frame crossing a link that is cut when it is
 * sent or when it would land is lost, and so is one that lands on a node with no process up.
 *
 * Two modes. `ordered` (the default) is what the orchestrators' peer links give: one connection per
 * pair, so frames on a directed link arrive in the order they were sent, and are lost only with the
 * link (a cut, a crash). `lossy` is the raft simulator's SimNetwork: each frame may also be dropped,
 * duplicated or held back long enough for later ones to overtake it, which no single TCP
 * connection does: useful to see what the layers above assume of their links.
 */
import type { SimRandom } from '../raft/index.js';
import type { SimLoop } from './loop.js';

export interface Frame {
  from: string;
  to: string;
  kind: string;
  body: unknown;
}

export interface NetworkParams {
  /** One-way delay bounds in virtual ms. */
  minDelay: number;
  maxDelay: number;
  /** `ordered`: FIFO per directed link, no drop, duplicate or reorder (the rates below are ignored). */
  mode: 'ordered' | 'lossy';
  /** Probabilities per frame. */
  drop: number;
  duplicate: number;
  /** Chance that a frame is held back by an extra 1–4× maxDelay, so later ones overtake it. */
  reorder: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  cutLost: number;
  duplicated: number;
}

export class SimNetwork {
  params: NetworkParams;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, cutLost: 0, duplicated: 0 };
  private readonly cuts = new Map<string, number>();
  private readonly inboxes = new Map<string, (frame: Frame) => void>();
  /** When the last frame on each directed link lands (ordered mode). */
  private readonly lastArrival = new Map<string, number>();

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SimRandom,
    params: NetworkParams,
  ) {
    this.params = { ...params };
  }

  /** The process now running on `node` takes the frames that land there; the returned function detaches it. */
  attach(node: string, deliver: (frame: Frame) => void): () => void {
    this.inboxes.set(node, deliver);
    return () => {
      if (this.inboxes.get(node) === deliver) this.inboxes.delete(node);
    };
  }

  isCut(from: string, to: string): boolean {
    return (this.cuts.get(link(from, to)) ?? 0) > 0;
  }

  cut(from: string, to: string): void {
    const l = link(from, to);
    this.cuts.set(l, (this.cuts.get(l) ?? 0) + 1);
  }

  heal(from: string, to: string): void {
    const l = link(from, to);
    const n = this.cuts.get(l) ?? 0;
    if (n <= 1) this.cuts.delete(l);
    else this.cuts.set(l, n - 1);
  }

  cutBoth(a: string, b: string): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  healBoth(a: string, b: string): void {
    this.heal(a, b);
    this.heal(b, a);
  }

  /** Every cut gone at once (the end of the fault stretch). */
  healAll(): void {
    this.cuts.clear();
  }

  send(frame: Frame): void {
    this.stats.sent++;
    if (this.isCut(frame.from, frame.to)) {
      this.stats.cutLost++;
      return;
    }
    const lossy = this.params.mode === 'lossy';
    if (lossy && this.rng.chance(this.params.drop)) {
      this.stats.dropped++;
      return;
    }
    this.schedule(frame);
    if (lossy && this.rng.chance(this.params.duplicate)) {
      this.stats.duplicated++;
      this.schedule(frame);
    }
  }

  private schedule(frame: Frame): void {
    const p = this.params;
    let at = this.loop.elapsed() + (p.minDelay === p.maxDelay ? p.minDelay : this.rng.between(p.minDelay, p.maxDelay));
    if (p.mode === 'lossy') {
      if (this.rng.chance(p.reorder)) at += this.rng.between(1, 4) * p.maxDelay;
    } else {
      const l = link(frame.from, frame.to);
      at = Math.max(at, this.lastArrival.get(l) ?? 0);
      this.lastArrival.set(l, at);
    }
    this.loop.at(at, () => {
      const deliver = this.inboxes.get(frame.to);
      if (this.isCut(frame.from, frame.to) || !deliver) {
        this.stats.cutLost++;
        return;
      }
      this.stats.delivered++;
      deliver(frame);
    });
  }
}

function link(from: string, to: string): string {
  return `${from}>${to}`;
}
