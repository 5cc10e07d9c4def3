/**
 * The simulated network: every message gets a random delay within bounds and may be dropped,
 * duplicated or held back long enough to be overtaken (reordered). Links can be cut one way or
 * both ways; cuts nest (a link cut by two overlapping faults stays cut until both heal). A message
 * crossing a link that is cut when it is sent or when it would arrive is lost, as on a real wire.
 *
 * With a bandwidth cap, each directed link sends one message at a time, in order: a message waits
 * for the ones queued before it, then takes its encoded size / bandwidth to go out, then the
 * propagation delay. A large snapshot or append batch thus delays the heartbeats behind it, as a
 * TCP connection per peer would.
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
  /** Bytes per virtual ms on each directed link (1000 = 1 MB/s); 0 or absent: no cap. */
  bandwidth?: number;
}

/** Fixed cost of a message on the wire: type, ids, term, indexes, framing. */
export const MESSAGE_HEADER_BYTES = 64;
/** Per entry: index, term, type, length. */
export const ENTRY_HEADER_BYTES = 24;

/** The message's encoded size, estimated from what it carries. */
export function messageBytes(m: Message): number {
  let n = MESSAGE_HEADER_BYTES + (m.context?.length ?? 0);
  if (m.entries) for (const e of m.entries) n += ENTRY_HEADER_BYTES + e.data.length;
  if (m.snapshot) {
    const c = m.snapshot.meta.conf;
    n += 32 + m.snapshot.data.length + 8 * (c.voters.length + c.learners.length + (c.removed?.length ?? 0));
  }
  return n;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  cutLost: number;
  duplicated: number;
  /** Bytes sent on capped links. */
  bytes: number;
}

export class SimNetwork {
  params: NetworkParams;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, cutLost: 0, duplicated: 0, bytes: 0 };
  /** cuts[from * width + to] counts the faults currently cutting the directed link. */
  private readonly cuts: number[];
  /** busyUntil[from * width + to]: when the link has sent every message queued on it. */
  private readonly busyUntil: number[];
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
    this.busyUntil = new Array<number>(this.width * this.width).fill(0);
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

  /** How long the message waits for the link and takes to go out on it (0 without a cap). */
  private transmission(msg: Message): number {
    const bw = this.params.bandwidth ?? 0;
    if (bw <= 0) return 0;
    const link = msg.from * this.width + msg.to;
    const now = this.queue.now();
    const start = Math.max(now, this.busyUntil[link]);
    const done = start + messageBytes(msg) / bw;
    this.busyUntil[link] = done;
    this.stats.bytes += messageBytes(msg);
    return done - now;
  }

  private schedule(msg: Message): void {
    const p = this.params;
    let delay = this.transmission(msg);
    delay += p.minDelay === p.maxDelay ? p.minDelay : this.rng.between(p.minDelay, p.maxDelay);
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
