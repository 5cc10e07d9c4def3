/**
 * Views of the database taken every so often while a workload runs. The tables keep only the
 * latest state, so one view at the end cannot show a write a deposed coordinator made and a later
 * owner overwrote; a series can show a row written at an epoch its shard had already left behind
 * (fenced-writes.ts). The closer the samples, the more such writes are caught.
 */
import pg from 'pg';
import { type DatabaseView, readView } from './database-view.js';

export interface DatabaseSamples {
  /** Take a last view, stop, and return every view taken, oldest first. */
  stop(): Promise<DatabaseView[]>;
  /** Views taken so far. */
  readonly taken: number;
  /** Views that could not be taken (the database unreachable for a moment): left out, counted. */
  readonly failures: number;
}

export interface SampleOptions {
  databaseUrl: string;
  /** Pause between two views; default 500 ms. */
  everyMs?: number;
}

export function sampleDatabase(options: SampleOptions): DatabaseSamples {
  const everyMs = options.everyMs ?? 500;
  const views: DatabaseView[] = [];
  let failures = 0;
  let stopping = false;
  let wake: (() => void) | undefined;
  let client: pg.Client | undefined;

  const take = async (): Promise<void> => {
    try {
      if (!client) {
        const opened = new pg.Client({ connectionString: options.databaseUrl });
        // A dropped connection must not crash the test process; the next take reconnects.
        opened.on('error', () => undefined);
        await opened.connect();
        client = opened;
      }
      views.push(await readView(client));
    } catch {
      failures += 1;
      await client?.end().catch(() => undefined);
      client = undefined;
    }
  };

  const loop = (async () => {
    while (!stopping) {
      await take();
      await new Promise<void>((resolve) => {
        if (stopping) return resolve();
        const timer = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  return {
    get taken() {
      return views.length;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await take();
      await client?.end().catch(() => undefined);
      return views;
    },
  };
}
