/**
 * The GitHub calls of the reporter, each counted, and retried on the injected clock when GitHub
 * says trying again may help (5xx, rate limit, timeout, network): 1 s, 4 s, then 16 s later, or
 * later still when GitHub said how long to wait. Anything else is given up at once. A call given
 * up on is reported through `failed` and never thrown at the run.
 */
import type { Clock } from '../clock/index.js';
import type { CheckRunFields, NewCheckRun } from '../github/index.js';
import type { WorkInFlight } from './in-flight.js';
import type { CheckRunApi, CheckRunOperation, CheckTarget, FoundCheckRun } from './ports.js';

export const RETRY_DELAYS_MS = [1_000, 4_000, 16_000] as const;
/** A rate limit's reset can be most of an hour away; a check update is not worth waiting that long for. */
const LONGEST_WAIT_MS = 60_000;

export interface CallDeps {
  api: CheckRunApi;
  clock: Clock;
  count?(operation: CheckRunOperation, result: 'ok' | 'error'): void;
  failed?(error: unknown, what: string): void;
}

export type Attempted<T> = { ok: true; value: T } | { ok: false };

function retryable(error: unknown): boolean {
  return (error as { retryable?: unknown } | null)?.retryable === true;
}

function waitAsked(error: unknown): number {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.min(Math.max(0, ms), LONGEST_WAIT_MS) : 0;
}

export class CheckCalls {
  constructor(
    private readonly deps: CallDeps,
    private readonly work: WorkInFlight,
  ) {}

  create(target: CheckTarget, run: NewCheckRun): Promise<{ id: number }> {
    return this.call('create', () => this.deps.api.create(target, run));
  }

  update(target: CheckTarget, id: number, fields: CheckRunFields): Promise<unknown> {
    return this.call('update', () => this.deps.api.update(target, id, fields));
  }

  find(target: CheckTarget, sha: string, name: string): Promise<FoundCheckRun[]> {
    return this.call('find', () => this.deps.api.find(target, sha, name));
  }

  /** `op` (one or more calls), again after each retryable failure, until it succeeds or the delays run out. */
  async retrying<T>(what: string, op: () => Promise<T>): Promise<Attempted<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { ok: true, value: await op() };
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (!retryable(error) || delay === undefined) {
          this.failed(error, attempt > 0 ? `${what} (gave up after ${attempt + 1} tries)` : what);
          return { ok: false };
        }
        await this.sleep(Math.max(delay, waitAsked(error)));
      }
    }
  }

  /** Report a failure; a logger that throws must not break the reporter. */
  failed(error: unknown, what: string): void {
    try {
      this.deps.failed?.(error, what);
    } catch {
      // Nothing better to do with it.
    }
  }

  private async call<T>(operation: CheckRunOperation, fn: () => Promise<T>): Promise<T> {
    try {
      const value = await this.work.run(fn);
      this.count(operation, 'ok');
      return value;
    } catch (error) {
      this.count(operation, 'error');
      throw error;
    }
  }

  private count(operation: CheckRunOperation, result: 'ok' | 'error'): void {
    try {
      this.deps.count?.(operation, result);
    } catch {
      // Metrics never decide whether a check is reported.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(ms, resolve));
  }
}
