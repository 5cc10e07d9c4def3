/**
 * The chaos workload: signed git push webhooks sent at a steady rate, in turn to every node
 * (coordinators and edge workers), as a webhook sender would: a delivery not answered 2xx (the node
 * is down, partitioned, out of quorum, or answers 503) is sent again, to the next node, until one
 * accepts it. Each delivery is a push of its own branch, so each must become exactly one run.
 *
 * `redeliver` sends deliveries already accepted again, shuffled (duplicates, out of order): a
 * sender's retry storm, which must create nothing.
 */
import { createHmac } from 'node:crypto';
import type { Random } from '../src/clock/index.js';
import { sleep } from '../cluster/processes.js';
import type { WorkloadSource } from './testbed.js';
import { WORKLOAD_BRANCH_PREFIX } from './workload-repository.js';

const ZERO_SHA = '0'.repeat(40);

export interface WebhookTarget {
  name: string;
  url: string;
}

export interface WorkloadOptions {
  source: WorkloadSource;
  /** Where webhooks go, in turn; called each time (the set of nodes may change). */
  targets: () => WebhookTarget[];
  /** New deliveries per second. */
  rate: number;
  /** At most this many deliveries in all (the testbed made a branch for each). */
  maxDeliveries: number;
  random: Random;
}

/** One delivery as the workload knows it. */
interface Delivery {
  index: number;
  id: string;
  accepted: boolean;
  attempts: number;
}

export class Workload {
  private readonly deliveries: Delivery[] = [];
  private sending = false;
  private timer?: NodeJS.Timeout;
  private next = 0;
  private readonly inFlight = new Set<Promise<void>>();
  sent = 0;
  refused = 0;
  redeliveries = 0;
  /** Accepted deliveries by the time they were accepted (ms since start), for throughput. */
  readonly acceptedAt: number[] = [];
  private startedAt = 0;

  constructor(private readonly options: WorkloadOptions) {}

  get accepted(): number {
    return this.acceptedAt.length;
  }

  /** Ids of the deliveries some node accepted. */
  acceptedIds(): string[] {
    return this.deliveries.filter((d) => d.accepted).map((d) => d.id);
  }

  /** Ids of the deliveries no node has accepted (yet). */
  pendingIds(): string[] {
    return this.deliveries.filter((d) => !d.accepted).map((d) => d.id);
  }

  start(startedAt: number): void {
    this.startedAt = startedAt;
    this.sending = true;
    const every = 1000 / this.options.rate;
    this.timer = setInterval(() => {
      if (this.deliveries.length >= this.options.maxDeliveries) return;
      this.track(this.deliver(this.newDelivery()));
    }, every);
  }

  /** Stop making new deliveries; the retries of those not yet accepted go on until `drain`. */
  stopNew(): void {
    clearInterval(this.timer);
  }

  /** Waits until every delivery was accepted, or `deadline` (performance.now()) passes. */
  async drain(deadline: number): Promise<void> {
    while (this.inFlight.size > 0 && performance.now() < deadline) await Promise.race([...this.inFlight, sleep(200)]);
    this.sending = false;
    await Promise.all(this.inFlight);
  }

  /** Send `count` accepted deliveries again, shuffled, each to a node drawn at random. */
  async redeliver(count: number): Promise<number> {
    const { random } = this.options;
    const done = this.deliveries.filter((d) => d.accepted);
    const picks: Delivery[] = [];
    for (let i = 0; i < count && done.length > 0; i++) picks.push(done[random.int(0, done.length - 1)]!);
    await Promise.all(
      picks.map(async (d) => {
        const targets = this.options.targets();
        const target = targets[random.int(0, targets.length - 1)];
        if (!target) return;
        this.redeliveries++;
        await this.post(target, d).catch(() => undefined);
      }),
    );
    return picks.length;
  }

  private newDelivery(): Delivery {
    const index = this.deliveries.length + 1;
    const branch = `${WORKLOAD_BRANCH_PREFIX}${index}`;
    const delivery = { index, id: `${this.options.source.id}:refs/heads/${branch}:${this.options.source.sha}`, accepted: false, attempts: 0 };
    this.deliveries.push(delivery);
    return delivery;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Send until a node accepts it (backing off up to 2 s), or the workload stops sending. */
  private async deliver(delivery: Delivery): Promise<void> {
    let backoff = 100;
    while (this.sending && !delivery.accepted) {
      const targets = this.options.targets();
      const target = targets[this.next++ % targets.length];
      if (target) {
        delivery.attempts++;
        const status = await this.post(target, delivery).catch(() => 0);
        if (status >= 200 && status < 300) {
          delivery.accepted = true;
          this.acceptedAt.push(performance.now() - this.startedAt);
          return;
        }
        this.refused++;
      }
      // No node up to take it, or it was refused: wait, then the next node.
      await sleep(backoff);
      backoff = Math.min(2000, backoff * 2);
    }
  }

  private async post(target: WebhookTarget, delivery: Delivery): Promise<number> {
    const { source } = this.options;
    const branch = `${WORKLOAD_BRANCH_PREFIX}${delivery.index}`;
    const body = JSON.stringify({ ref: `refs/heads/${branch}`, before: ZERO_SHA, after: source.sha, repository: { name: 'origin' } });
    const signature = `sha256=${createHmac('sha256', source.secret).update(body).digest('hex')}`;
    this.sent++;
    const res = await fetch(`${target.url}/webhook/${encodeURIComponent(source.orgId)}/git/${encodeURIComponent(source.id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-delivery-id': delivery.id, 'x-signature-256': signature },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  }
}
