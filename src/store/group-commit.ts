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
  /** Writes that must not share a batch (the same row twice) share a key; a write on several rows has several. */
  keyOf(write: W): string | readonly string[];
  /** Batches out at once (default 2). */
  maxInFlight?: number;
  /** Writes in one batch at most (default 128). */
  maxBatch?: number;
  /**
   * A write that finds no batch out and none waiting leaves at once instead of at the end of the
   * event loop's round (default false). For writes someone is waiting on one by one (a webhook's
   * reply): an idle node saves the hop, and under load writes still gather while batches are out.
   */
  loneAtOnce?: boolean;
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
  /** Rows a batch in flight writes. */
  private readonly rowsInFlight = new Set<string>();

  constructor(private readonly options: GroupCommitOptions<W, R>) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 128;
  }

  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (this.options.loneAtOnce && this.inFlight === 0 && this.waiting.length === 1) {
        this.send();
        return;
      }
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
    while (this.inFlight < this.maxInFlight) {
      const { batch, keys } = this.take();
      if (batch.length === 0) return;
      this.inFlight++;
      this.batches++;
      this.written += batch.length;
      for (const key of keys) this.rowsInFlight.add(key);
      void this.commit(batch).finally(() => {
        for (const key of keys) this.rowsInFlight.delete(key);
        this.inFlight--;
        this.send();
      });
    }
  }

  /**
   * Up to `maxBatch` waiting writes, in the order they came, none on a row another write in the
   * batch or in flight writes: a row's writes land one after the other, as they were submitted.
   */
  private take(): { batch: Waiting<W, R>[]; keys: Set<string> } {
    const batch: Waiting<W, R>[] = [];
    const taken = new Set<string>();
    // A row's later write never overtakes its earlier one, even one left waiting here.
    const seen = new Set<string>();
    const left: Waiting<W, R>[] = [];
    for (const w of this.waiting) {
      const key = this.options.keyOf(w.write);
      const keys = typeof key === 'string' ? [key] : key;
      if (batch.length < this.maxBatch && keys.every((k) => !seen.has(k) && !this.rowsInFlight.has(k))) {
        batch.push(w);
        for (const k of keys) taken.add(k);
      } else left.push(w);
      for (const k of keys) seen.add(k);
    }
    this.waiting = left;
    return { batch, keys: taken };
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
      // `single` may throw before it returns a promise: every write settles all the same.
      await Promise.all(batch.map((w) => Promise.resolve(w.write).then((write) => this.options.single(write)).then(w.resolve, w.reject)));
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
