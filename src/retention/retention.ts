/**
 * Retention's work, one batch at a time: drop the raw bodies of old deliveries (the row stays, its
 * body emptied and `payload_removed_at` stamped) with their gzipped copies, and delete the step logs
 * of runs finished long ago (the run stays, `logs_removed_at` stamped). The coordinator duty does
 * one batch of each per tick, so a first run over years of history never stalls the node; an
 * admin purge repeats batches until nothing older is left.
 *
 * Objects go first, the row's mark after: a crash in between leaves the row unmarked, and the next
 * batch deletes again (a no-op) and marks it. The other order would leave objects nobody deletes.
 * The marks are fenced by the coordinator's term when a claim is given; a deposed coordinator may
 * still delete objects of the same batch the new one deletes, which is harmless: both are expired.
 */
import type { Clock } from '../clock/index.js';
import { type BlobStore, deleteDeliveryCopy, type StepLogStore, type Store } from '../store/index.js';
import { cutoffOf, type RetentionKind, type RetentionPolicy } from './policy.js';

/** Bodies per batch: a row update and a blob delete each. */
export const PAYLOADS_PER_BATCH = 500;
/** Runs per batch: a run holds a log per step of each job, so fewer of them. */
export const RUNS_PER_BATCH = 100;
/** Object deletes in flight at once (S3 answers each in milliseconds; one at a time would crawl). */
const DELETES_IN_FLIGHT = 8;

/** A coordinator's term of record, stamped on the duty's writes. */
export interface DutyClaim {
  term: number;
  node: string;
}

export interface RetentionDeps {
  store: Pick<Store, 'deliveries' | 'runs'>;
  blobs: Pick<BlobStore, 'delete'>;
  stepLogs: Pick<StepLogStore, 'deleteRunLogs'>;
  /** The time marks are stamped with and cutoffs measured from (the database's, in production). */
  clock: Pick<Clock, 'now'>;
  /** Items removed, for `kici_retention_deleted_total`. */
  onDeleted?(kind: RetentionKind, count: number): void;
  batch?: { payloads?: number; runs?: number };
}

/** What a sweep or purge removed: payloads, and the runs whose logs went with their bytes. */
export interface RetentionCounts {
  payloads: number;
  logRuns: number;
  logBytes: number;
}

export interface PurgeRequest {
  /** Remove what is older than this (payloads by receipt, logs by the run's end). */
  olderThanMs: number;
  payloads: boolean;
  logs: boolean;
}

interface Batch {
  /** Candidates read: fewer than the batch size means nothing older is left. */
  found: number;
  removed: number;
  bytes: number;
}

export class Retention {
  private readonly payloadLimit: number;
  private readonly runLimit: number;

  constructor(private readonly deps: RetentionDeps) {
    this.payloadLimit = deps.batch?.payloads ?? PAYLOADS_PER_BATCH;
    this.runLimit = deps.batch?.runs ?? RUNS_PER_BATCH;
  }

  /** The duty's tick: one batch of each kind the policy does not keep forever. */
  async sweep(policy: RetentionPolicy, claim?: DutyClaim): Promise<RetentionCounts> {
    const now = this.deps.clock.now();
    const payloadsBefore = cutoffOf(now, policy.deliveryDays);
    const logsBefore = cutoffOf(now, policy.logDays);
    // Both kinds every tick: an object store that fails for bodies must not stall the logs, nor the reverse.
    const [payloads, logs] = await Promise.allSettled([
      payloadsBefore ? this.payloadBatch(payloadsBefore, claim) : undefined,
      logsBefore ? this.logBatch(logsBefore, claim) : undefined,
    ]);
    for (const outcome of [payloads, logs]) if (outcome.status === 'rejected') throw outcome.reason;
    const done = (o: typeof payloads) => (o.status === 'fulfilled' ? o.value : undefined);
    return { payloads: done(payloads)?.removed ?? 0, logRuns: done(logs)?.removed ?? 0, logBytes: done(logs)?.bytes ?? 0 };
  }

  /** Batches until nothing older than the request's cutoff is left (an admin's purge). */
  async purge(request: PurgeRequest): Promise<RetentionCounts & { before: Date }> {
    const before = new Date(this.deps.clock.now() - request.olderThanMs);
    const counts: RetentionCounts = { payloads: 0, logRuns: 0, logBytes: 0 };
    if (request.payloads) {
      await drain(this.payloadLimit, () => this.payloadBatch(before), (b) => (counts.payloads += b.removed));
    }
    if (request.logs) {
      await drain(this.runLimit, () => this.logBatch(before), (b) => {
        counts.logRuns += b.removed;
        counts.logBytes += b.bytes;
      });
    }
    return { ...counts, before };
  }

  /** One batch of bodies received before `before` and no longer `received`. */
  async payloadBatch(before: Date, claim?: DutyClaim): Promise<Batch> {
    const { deliveries } = this.deps.store;
    const keys = await deliveries.withExpiredPayloads(before, this.payloadLimit);
    const { done, failure } = await settleEach(keys, (k) => deleteDeliveryCopy(this.deps.blobs, k.orgId, k.deliveryId));
    const removed = await deliveries.removePayloads(done, new Date(this.deps.clock.now()), claim);
    if (removed > 0) this.deps.onDeleted?.('delivery_payload', removed);
    if (failure) throw failure;
    return { found: keys.length, removed, bytes: 0 };
  }

  /** One batch of runs finished before `before` whose step logs are still kept. */
  async logBatch(before: Date, claim?: DutyClaim): Promise<Batch> {
    const { runs } = this.deps.store;
    const ids = await runs.withExpiredLogs(before, this.runLimit);
    let bytes = 0;
    const { done, failure } = await settleEach(ids, async (id) => {
      // Awaited first: `bytes += await …` would read `bytes` before the wait and lose the others' sums.
      const removed = await this.deps.stepLogs.deleteRunLogs(id);
      bytes += removed;
    });
    const removed = await runs.markLogsRemoved(done, new Date(this.deps.clock.now()), claim);
    if (removed > 0) this.deps.onDeleted?.('step_log', removed);
    if (failure) throw failure;
    return { found: ids.length, removed, bytes };
  }
}

/** Repeat `batch` until one comes back short, or removes nothing (so a purge never spins). */
async function drain(limit: number, batch: () => Promise<Batch>, add: (b: Batch) => void): Promise<void> {
  for (;;) {
    const b = await batch();
    add(b);
    if (b.found < limit || b.removed === 0) return;
  }
}

/**
 * Run `fn` over `items`, a few at a time. The items it succeeded for are marked; the first failure
 * is handed back to be thrown after the marks, so one bad object never holds up the rest of the batch.
 */
async function settleEach<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<{ done: T[]; failure?: Error }> {
  const done: T[] = [];
  let failure: Error | undefined;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
        done.push(item);
      } catch (e) {
        failure ??= e as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, items.length) }, worker));
  return { done, failure };
}
