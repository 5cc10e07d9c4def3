/**
 * The simulated client, until healing. Proposals either arrive open-loop (Poisson, the original
 * client: it never retries) or, in load mode, keep a window of proposals in flight: each one that
 * ends (acknowledged, refused, lost with its leader, or given up after a timeout) is replaced at
 * once, so the leader always has more to replicate than its followers have acknowledged and the
 * core's in-flight window fills. Reads arrive open-loop (Poisson), half of them lease reads:
 * their answers do not feed back into the schedule, so recording them cannot change the run.
 */
import type { SimCluster } from './cluster.js';
import type { SimEvent } from './events.js';
import type { Features } from './features.js';
import { SimRandom } from './random.js';

export interface ClientPlan {
  seed: number;
  /** Mean gap between open-loop proposals, in ms. */
  proposalGap: number;
  /** Stop issuing at this virtual time. */
  until: number;
  features: Features;
}

/** A proposal in flight is given up after this long (the client times out, as a real one would). */
const GIVE_UP_MS = 3000;
/** After a refusal, wait this long before the next try (a client backing off, not spinning). */
const BACK_OFF_MS = 50;

export class SimClient {
  private readonly inFlight = new Map<string, SimEvent>();
  /** Proposals that ended while they were being handed over (before we recorded them). */
  private readonly endedEarly = new Set<string>();
  private handing = false;
  private refillPending = false;

  constructor(
    private readonly cluster: SimCluster,
    private readonly plan: ClientPlan,
  ) {}

  start(): void {
    const load = this.plan.features.load;
    if (load) {
      this.cluster.listener.settled = (id, acked) => this.ended(id, acked);
      this.scheduleRefill(0);
    } else {
      this.openLoop();
    }
    if (this.plan.features.reads) this.reads(this.plan.features.reads.gap, this.plan.features.reads.leaseShare);
  }

  private openLoop(): void {
    const c = this.cluster;
    const rng = new SimRandom(this.plan.seed).fork('arrivals');
    const next = (): void => {
      c.propose();
      const gap = rng.exponential(this.plan.proposalGap);
      if (c.now + gap < this.plan.until) c.queue.schedule(gap, next);
    };
    c.queue.schedule(rng.exponential(this.plan.proposalGap), next);
  }

  /** Top the window up: one proposal per free slot. */
  private refill(): void {
    this.refillPending = false;
    const c = this.cluster;
    const window = this.plan.features.load?.window ?? 0;
    if (c.now >= this.plan.until) return;
    while (this.inFlight.size < window) {
      this.handing = true;
      const { id, taken } = c.propose();
      this.handing = false;
      if (!taken || this.endedEarly.delete(id)) {
        this.scheduleRefill(BACK_OFF_MS);
        return;
      }
      this.inFlight.set(id, c.queue.schedule(GIVE_UP_MS, () => this.ended(id, false)));
    }
  }

  private ended(id: string, acked: boolean): void {
    const timer = this.inFlight.get(id);
    if (timer === undefined) {
      if (this.handing) this.endedEarly.add(id);
      return;
    }
    timer.cancelled = true;
    this.inFlight.delete(id);
    // Not in-line: the host that reported it is still in the middle of its work.
    this.scheduleRefill(acked ? 0 : BACK_OFF_MS);
  }

  private scheduleRefill(delay: number): void {
    if (this.refillPending) return;
    this.refillPending = true;
    this.cluster.queue.schedule(delay, () => this.refill());
  }

  private reads(gap: number, leaseShare: number): void {
    const c = this.cluster;
    const rng = new SimRandom(this.plan.seed).fork('reads');
    const next = (): void => {
      c.read(rng.chance(leaseShare) ? 'lease' : 'index');
      const wait = rng.exponential(gap);
      if (c.now + wait < this.plan.until) c.queue.schedule(wait, next);
    };
    c.queue.schedule(rng.exponential(gap), next);
  }
}
