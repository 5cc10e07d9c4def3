/**
 * The simulated network: every message gets a random delay within bounds and may be dropped,
 * duplicated or held back long enough to be overtaken (reordered). Links can be cut one way or
 * both ways; cuts nest (a link cut by two overlapping faults stays cut until both heal). A message
 * crossing a link that is cut when it is sent or when it would arrive is lost, as on a real wire.
 */
import type { Message, NodeId } from '../types.js';
import type { EventQueue } from './events.js';
import type { SimRandom } from './random.js';

export interface NetworkParams {
  /** One-way delay bounds in virtual ms. */
  minDelay: number;
  maxDelay: number;
  /** Probabilities per message. */
  drop: number;
  duplicate: number;
  /** Chance that a message is held back by an extra 1–4× maxDelay, so later ones overtake it. */
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
  /** cuts[from * width + to] counts the faults currently cutting the directed link. */
  private readonly cuts: number[];
  private readonly width: number;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    maxNodeId: number,
    params: NetworkParams,
    private readonly deliver: (msg: Message) => void,
    /** Told about every message lost (for traces); `why` is 'drop' or 'cut'. */
    private readonly lost?: (msg: Message, why: string) => void,
  ) {
    this.params = { ...params };
    this.width = maxNodeId + 1;
    this.cuts = new Array<number>(this.width * this.width).fill(0);
  }

  /** Is the directed link from → to currently cut? */
  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts[from * this.width + to] > 0;
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts[from * this.width + to]++;
  }

  heal(from: NodeId, to: NodeId): void {
    const i = from * this.width + to;
    if (this.cuts[i] > 0) this.cuts[i]--;
  }

  /** Cut both directions between a and b. */
  cutBoth(a: NodeId, b: NodeId): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  healBoth(a: NodeId, b: NodeId): void {
    this.heal(a, b);
    this.heal(b, a);
  }

  /** Remove every cut at once (the end of the fault stretch). */
  healAll(): void {
    this.cuts.fill(0);
  }

  send(msg: Message): void {
    this.stats.sent++;
    if (this.isCut(msg.from, msg.to)) {
      this.stats.cutLost++;
      this.lost?.(msg, 'cut');
      return;
    }
    const p = this.params;
    if (this.rng.chance(p.drop)) {
      this.stats.dropped++;
      this.lost?.(msg, 'drop');
      return;
    }
    this.schedule(msg);
    if (this.rng.chance(p.duplicate)) {
      this.stats.duplicated++;
      this.schedule(msg);
    }
  }

  private schedule(msg: Message): void {
    const p = this.params;
    let delay = p.minDelay === p.maxDelay ? p.minDelay : this.rng.between(p.minDelay, p.maxDelay);
    if (this.rng.chance(p.reorder)) delay += this.rng.between(1, 4) * p.maxDelay;
    this.queue.schedule(delay, () => {
      if (this.isCut(msg.from, msg.to)) {
        this.stats.cutLost++;
        this.lost?.(msg, 'cut');
        return;
      }
      this.stats.delivered++;
      this.deliver(msg);
    });
  }
}
