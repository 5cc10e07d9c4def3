/**
 * What a chaos run watches while it goes, about once a second: the leader the coordinators report,
 * runs completed (from the database, when it answers), webhooks accepted (from the workload), and
 * orphans reclaimed (the coordinators' `kici_orphans_reclaimed_total`, summed over restarts: a
 * counter that went down belongs to a node that restarted, and counts from zero again).
 */
import pg from 'pg';
import type { LeaderSample, ThroughputSample } from './campaign.js';
import { TERMINAL_RUN_STATUSES } from '../src/vocabulary/index.js';
import type { Testbed } from './testbed.js';
import { leaderSpans } from './timeline.js';
import type { Workload } from './workload.js';

const TERMINAL: readonly string[] = TERMINAL_RUN_STATUSES;

export class Observer {
  readonly throughput: ThroughputSample[] = [];
  readonly leaders: LeaderSample[] = [];
  private runsCompleted = 0;
  private runsCreated = 0;
  private readonly reclaimedBase = new Map<string, number>();
  private readonly reclaimedLast = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;
  private client?: pg.Client;

  constructor(
    private readonly bed: Testbed,
    private readonly workload: Workload,
    private readonly startedAt: number,
  ) {}

  start(everyMs = 1000): void {
    this.timer = setInterval(() => {
      // One sample at a time: a slow one (a node paused) is not stacked on.
      if (!this.sampling) this.sampling = this.sample().finally(() => (this.sampling = undefined));
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    await this.client?.end().catch(() => undefined);
  }

  /** Leader changes seen: a sample naming a leader or term other than the last one named. */
  get leaderChanges(): number {
    // Counted as the timeline marks them, so the figure and the picture agree.
    return leaderSpans(this.leaders, Number.POSITIVE_INFINITY).changes.length;
  }

  get orphansReclaimed(): number {
    let sum = 0;
    for (const [node, last] of this.reclaimedLast) sum += (this.reclaimedBase.get(node) ?? 0) + last;
    return sum;
  }

  get runs(): { created: number; completed: number } {
    return { created: this.runsCreated, completed: this.runsCompleted };
  }

  private async sample(): Promise<void> {
    const atMs = Math.round(performance.now() - this.startedAt);
    const [leader] = await Promise.all([this.bed.leader(), this.countRuns(), this.countReclaimed()]);
    this.leaders.push({ atMs, leader: leader?.node ?? null, term: leader?.term ?? 0 });
    this.throughput.push({ atMs, webhooksAccepted: this.workload.accepted, runsCompleted: this.runsCompleted });
  }

  private async countRuns(): Promise<void> {
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.bed.postgres.url });
        // PostgreSQL crashed on purpose: the next sample reconnects.
        client.on('error', () => undefined);
        await client.connect();
        this.client = client;
      }
      const { rows } = await this.client.query<{ created: string; completed: string }>(
        'SELECT count(*) AS created, count(*) FILTER (WHERE status = ANY($1)) AS completed FROM runs',
        [TERMINAL],
      );
      this.runsCreated = Number(rows[0]?.created ?? 0);
      this.runsCompleted = Number(rows[0]?.completed ?? 0);
    } catch {
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
    }
  }

  private async countReclaimed(): Promise<void> {
    await Promise.all(
      this.bed.coordinators.map(async (c) => {
        if (!c.running) return;
        const text = await fetch(`${c.url}/metrics`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.text())
          .catch(() => undefined);
        if (text === undefined) return;
        const value = Number(/^kici_orphans_reclaimed_total (\d+)/m.exec(text)?.[1] ?? 0);
        const last = this.reclaimedLast.get(c.name) ?? 0;
        if (value < last) this.reclaimedBase.set(c.name, (this.reclaimedBase.get(c.name) ?? 0) + last);
        this.reclaimedLast.set(c.name, value);
      }),
    );
  }
}
