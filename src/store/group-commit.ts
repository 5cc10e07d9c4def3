/**
 * Group commit: writes that many callers submit at about the same time leave in one statement, and
 * each caller continues when its own part is durable.
 *
 * Writes submitted while the event loop works through one round of I/O are flushed together at the
 * end of that round (`setImmediate`), so an idle system sends a lone write at once and never waits
 * for a batch to fill. While `maxInFlight` batches are out, new writes gather and leave together
 * when one comes back: under load the batches grow with the load instead of the round trips.
 *
 * Each write gets its own outcome; a batch that fails as a whole (a lost connection, a deadlock
 * the database broke) is retried write by write, so one write's failure is never another's.
 */
export interface GroupCommitOptions<W, R> {
  /** Send a batch; one outcome per write, in order. */
  flush(writes: readonly W[]): Promise<R[]>;
  /** Send one write alone: the way back when a batch fails as a whole. */
  single(write: W): Promise<R>;
  /** Writes that must not share a batch (the same row twice) share a key. */
  keyOf(write: W): string;
  /** Batches out at once (default 2). */
  maxInFlight?: number;
  /** Writes in one batch at most (default 128). */
  maxBatch?: number;
}

export interface GroupCommitCounts {
  batches: number;
  writes: number;
  retriedAlone: number;
}

interface Waiting<W, R> {
  write: W;
  resolve(outcome: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<W, R> {
  private waiting: Waiting<W, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private batches = 0;
  private written = 0;
  private retried = 0;

  constructor(private readonly options: GroupCommitOptions<W, R>) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 128;
  }

  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.send();
        });
      }
    });
  }

  /** Batches sent, writes they carried, and batches that failed whole and went write by write. */
  counts(): GroupCommitCounts {
    return { batches: this.batches, writes: this.written, retriedAlone: this.retried };
  }

  private send(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.take();
      this.inFlight++;
      this.batches++;
      this.written += batch.length;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.send();
      });
    }
  }

  /** Up to `maxBatch` waiting writes, none of them on a row another one in the batch writes. */
  private take(): Waiting<W, R>[] {
    const batch: Waiting<W, R>[] = [];
    const keys = new Set<string>();
    const left: Waiting<W, R>[] = [];
    for (const w of this.waiting) {
      const key = this.options.keyOf(w.write);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(w);
      } else left.push(w);
    }
    this.waiting = left;
    return batch;
  }

  private async commit(batch: Waiting<W, R>[]): Promise<void> {
    let outcomes: R[];
    try {
      outcomes = batch.length === 1 ? [await this.options.single(batch[0]!.write)] : await this.options.flush(batch.map((w) => w.write));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      this.retried++;
      await Promise.all(batch.map((w) => this.options.single(w.write).then(w.resolve, w.reject)));
      return;
    }
    if (outcomes.length !== batch.length) {
      const error = new Error(`a batch of ${batch.length} writes came back with ${outcomes.length} outcomes`);
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => w.resolve(outcomes[i]!));
  }
}
