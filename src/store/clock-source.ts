/**
 * The database's time, for the clock room's `DatabaseClock` (its `TimeSource` port, which this
 * repository satisfies by shape: the store does not import the clock room). Deadlines that outlive
 * a shard move are measured against one clock every node shares, PostgreSQL's, not the local one.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';

export class ClockSourceRepository {
  constructor(private readonly db: Db) {}

  /**
   * The database server's current time in milliseconds since the epoch. `clock_timestamp()`, not
   * `now()`: `now()` is frozen at the start of the transaction, `clock_timestamp()` is the moment the
   * server evaluates it. The conversion is done on the server (`extract(epoch …)` of a timestamptz is
   * absolute, whatever the session's time zone) and returned as float8, which both drivers hand back
   * as a JavaScript number.
   */
  async sample(): Promise<number> {
    const { rows } = await sql<{ ms: number | string }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(this.db);
    const ms = Number(rows[0]?.ms);
    if (!Number.isFinite(ms)) throw new Error(`the database answered no usable time: ${String(rows[0]?.ms)}`);
    return ms;
  }
}
