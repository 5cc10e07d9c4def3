/**
 * The edge worker's road for its agents' reports. While the node that owns a run is reachable and
 * nothing is held, reports go straight to the run. Otherwise they wait in the worker's outbox,
 * fsync'd, and a final or step status is acknowledged to the agent once it is there: the worker,
 * not the agent, answers for it from then on. Held reports are replayed oldest first once owners
 * are reachable again; each is removed only after its run decided, so a report replayed twice
 * (a crash between the decision and the removal) is applied once by the run.
 */
import type { Clock } from '../clock/index.js';
import type { RunReports } from '../dispatch/index.js';
import type { RunMessage } from '../runs/index.js';
import { isHeldMessage, type HeldReport, type WorkerOutbox } from './outbox.js';

export interface RelayParts {
  /** Reports straight to the runs (over the worker's actor system). */
  direct: RunReports;
  /** Can the node that owns this run be reached now (a link up to it)? */
  reachable(runId: string): boolean;
  outbox: WorkerOutbox;
  clock: Clock;
  /** How often held reports are tried again while owners stay out of reach. */
  retryMs?: number;
  onReplayed?(count: number): void;
  onHeld?(): void;
  warn(fields: object, msg: string): void;
}

const RETRY_MS = 2_000;
/** What a node says of an agent (lost, back, restarted) waits, per run, at most this many deep. */
const DEFERRED_PER_RUN = 100;

export class WorkerRelay implements RunReports {
  private replaying: Promise<void> | undefined;
  /**
   * A run's news of its agents (lost, back, restarted) that must not overtake the run's held
   * reports: in memory, sent once they are applied (a restarted worker announces its agents again).
   */
  private readonly deferred = new Map<string, RunMessage[]>();
  private cancelRetry: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly p: RelayParts) {}

  tell(runId: string, msg: RunMessage): void {
    if (!this.holding(runId)) return this.p.direct.tell(runId, msg);
    // A heartbeat says only "still alive now": sent when the owner is reachable (it keeps the jobs
    // from going stale while a replay runs), dropped when not (the owner holds them meanwhile).
    if (msg.type === 'job_heartbeat') {
      if (this.p.reachable(runId)) this.p.direct.tell(runId, msg);
      return;
    }
    if (!isHeldMessage(msg)) return this.defer(runId, msg);
    this.hold({ runId, message: msg }).catch((e: Error) => this.p.warn({ runId, type: msg.type, err: e.message }, 'report not held: the outbox cannot be written'));
  }

  async ask(runId: string, msg: RunMessage): Promise<void> {
    if (isHeldMessage(msg) && !this.holding(runId)) {
      try {
        return await this.p.direct.ask(runId, msg);
      } catch (e) {
        // Unanswered (the link went down mid-way, the run moved and its new owner is away): held.
        this.p.warn({ runId, type: msg.type, err: (e as Error).message }, 'report not answered: held in the outbox');
      }
    }
    if (!isHeldMessage(msg)) return this.p.direct.ask(runId, msg);
    await this.hold({ runId, message: msg });
  }

  /** Owners may be reachable again (a link came up, the shard map changed): replay what is held. */
  replay(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.replaying ??= this.drain().finally(() => {
      this.replaying = undefined;
      this.scheduleRetry();
    });
    return this.replaying;
  }

  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
  }

  /**
   * A run's reports keep their order: once one is held, the run's later ones are held behind it.
   * Runs are independent: one whose owner is reachable is not held up by another's.
   */
  private holding(runId: string): boolean {
    return this.p.outbox.holdsRun(runId) || !this.p.reachable(runId);
  }

  private defer(runId: string, msg: RunMessage): void {
    const waiting = this.deferred.get(runId) ?? [];
    if (waiting.length >= DEFERRED_PER_RUN) waiting.shift();
    waiting.push(msg);
    this.deferred.set(runId, waiting);
    this.scheduleRetry();
  }

  /** Runs whose held reports are all applied and whose owner is reachable hear what waited for them. */
  private sendDeferred(): void {
    for (const [runId, waiting] of this.deferred) {
      if (this.p.outbox.holdsRun(runId) || !this.p.reachable(runId)) continue;
      this.deferred.delete(runId);
      for (const msg of waiting) this.p.direct.tell(runId, msg);
    }
  }

  private async hold(report: HeldReport): Promise<void> {
    await this.p.outbox.append(report);
    this.p.onHeld?.();
    this.scheduleRetry();
  }

  /**
   * Oldest first, run by run: a run whose owner is out of reach, or whose report went unanswered,
   * keeps the rest of its reports for the next replay; the other runs' go on. Reports held while a
   * pass ran are taken by the next pass.
   */
  private async drain(): Promise<void> {
    let replayed = 0;
    const waiting = new Set<string>();
    try {
      for (let progressed = true; progressed && !this.stopped; ) {
        progressed = false;
        for (const next of this.p.outbox.list()) {
          if (this.stopped) return;
          const { runId, message } = next.report;
          if (waiting.has(runId)) continue;
          if (!this.p.reachable(runId)) {
            waiting.add(runId);
            continue;
          }
          try {
            await this.p.direct.ask(runId, message);
          } catch (e) {
            this.p.warn({ runId, type: message.type, err: (e as Error).message }, 'held report not answered; tried again later');
            waiting.add(runId);
            continue;
          }
          // With the entry sent: a gap marker that took its place meanwhile is kept.
          this.p.outbox.remove(next.seq, next);
          replayed++;
          progressed = true;
        }
      }
    } finally {
      if (replayed > 0) this.p.onReplayed?.(replayed);
      if (!this.stopped) this.sendDeferred();
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.cancelRetry || (this.p.outbox.depth === 0 && this.deferred.size === 0)) return;
    this.cancelRetry = this.p.clock.setTimer(this.p.retryMs ?? RETRY_MS, () => {
      this.cancelRetry = undefined;
      void this.replay();
    });
  }
}
