/**
 * Step logs in the database (`step_logs` and `step_log_chunks`, migration 007), for orchestrators
 * that share one PostgreSQL: any node may append to or read any step's log.
 *
 * An append is one transaction that locks the log's `step_logs` row, applies the cap rule to the
 * size it finds there, then writes its chunk and the new size. Appends to one step from any number
 * of processes are thereby serialised by PostgreSQL, not by this process (which is why the
 * filesystem store's in-process queue is not needed here). The cap rule is the filesystem store's,
 * from step-log-rules.ts, and as there the size alone says whether the notice is written.
 */
import { sql } from 'kysely';
import type { Db } from '../database.js';
import { inTransaction } from '../guards.js';
import { toBuffer } from '../sql-values.js';
import { appendUnderCap, chunkOf, readWindow, STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES, truncationNotice } from './step-log-rules.js';
import { assertStepIndex, type StepLogChunk, type StepLogInfo, type StepLogStore } from './step-logs.js';

/** Sizes and offsets are `integer` columns; a log may grow to its cap plus the notice. */
const LARGEST_SIZE = 2 ** 31 - 1;

interface StepLogKey {
  runId: string;
  jobId: string;
  stepIndex: number;
}

export class DatabaseStepLogStore implements StepLogStore {
  private readonly capBytes: number;

  constructor(
    private readonly db: Db,
    options: { capBytes?: number } = {},
  ) {
    const capBytes = options.capBytes ?? STEP_LOG_CAP_BYTES;
    if (!Number.isSafeInteger(capBytes) || capBytes < 0 || capBytes + Buffer.byteLength(truncationNotice(capBytes)) > LARGEST_SIZE) {
      throw new Error(`invalid step log cap ${capBytes}: a log must fit in ${LARGEST_SIZE} bytes`);
    }
    this.capBytes = capBytes;
  }

  async append(runId: string, jobId: string, stepIndex: number, text: string): Promise<number> {
    assertStepIndex(stepIndex);
    // Nothing to keep: leave the log as it is, and create none (as the filesystem store writes no file).
    if (text === '') return 0;
    const log = { runId, jobId, stepIndex };
    return inTransaction(this.db, async (trx) => {
      const size = await lockedSize(trx, log);
      const { write, kept } = appendUnderCap(size, text, this.capBytes);
      if (write.length === 0) return kept;
      // One statement: the new size and the chunk that starts at the old one.
      await sql`
        WITH this_log AS (
          UPDATE step_logs SET size = ${size + write.length}::integer
          WHERE run_id = ${runId} AND job_id = ${jobId} AND step_index = ${stepIndex}::integer
          RETURNING id
        )
        INSERT INTO step_log_chunks (log_id, start_offset, bytes)
        SELECT id, ${size}::integer, ${write}::bytea FROM this_log`.execute(trx);
      return kept;
    });
  }

  async read(runId: string, jobId: string, stepIndex: number, fromOffset = 0, maxBytes = STEP_LOG_READ_BYTES): Promise<StepLogChunk> {
    assertStepIndex(stepIndex);
    const head = await this.db
      .selectFrom('step_logs')
      .select('size')
      .where('run_id', '=', runId)
      .where('job_id', '=', jobId)
      .where('step_index', '=', stepIndex)
      .executeTakeFirst();
    const size = head?.size ?? 0;
    const { start, length } = readWindow(size, fromOffset, maxBytes);
    if (length <= 0) return { text: '', nextOffset: start, size };
    // Appends made since `size` was read start at or after it, beyond this window: the two
    // statements need no transaction to agree.
    const bytes = await windowBytes(this.db, { runId, jobId, stepIndex }, start, start + length);
    if (bytes.length !== length) {
      throw new Error(`step log ${runId}/${jobId}/${stepIndex}: chunks hold ${bytes.length} bytes of ${start}..${start + length}`);
    }
    return chunkOf(bytes, start, size);
  }

  async listJobLogs(runId: string, jobId: string): Promise<StepLogInfo[]> {
    const rows = await this.db
      .selectFrom('step_logs')
      .select(['step_index', 'size'])
      .where('run_id', '=', runId)
      .where('job_id', '=', jobId)
      .orderBy('step_index')
      .execute();
    return rows.map((row) => ({ stepIndex: row.step_index, bytes: row.size }));
  }

  /** One statement: the chunks go with their logs (ON DELETE CASCADE, migration 007). */
  async deleteRunLogs(runId: string): Promise<number> {
    const rows = await this.db.deleteFrom('step_logs').where('run_id', '=', runId).returning('size').execute();
    return rows.reduce((total, row) => total + row.size, 0);
  }
}

/**
 * The log's size, with its row locked until the transaction ends; a first append creates the row.
 * After waiting for the lock, the select sees the size the previous holder committed.
 */
async function lockedSize(trx: Db, log: StepLogKey): Promise<number> {
  const select = () =>
    trx
      .selectFrom('step_logs')
      .select('size')
      .where('run_id', '=', log.runId)
      .where('job_id', '=', log.jobId)
      .where('step_index', '=', log.stepIndex)
      .forUpdate()
      .executeTakeFirst();
  const existing = await select();
  if (existing) return existing.size;
  // Two first appends may race here: one inserts, the other waits for it and inserts nothing.
  await trx
    .insertInto('step_logs')
    .values({ run_id: log.runId, job_id: log.jobId, step_index: log.stepIndex, size: 0 })
    .onConflict((oc) => oc.columns(['run_id', 'job_id', 'step_index']).doNothing())
    .execute();
  const created = await select();
  if (!created) throw new Error(`step log ${log.runId}/${log.jobId}/${log.stepIndex} vanished while being created`);
  return created.size;
}

/**
 * Bytes [start, end) of a log. Chunks are contiguous, so the first one needed is the last that
 * starts at or before `start` (one step back along the primary key, however long the log), and
 * only the part of each chunk inside the window leaves the database.
 */
async function windowBytes(db: Db, log: StepLogKey, start: number, end: number): Promise<Buffer> {
  const { rows } = await sql<{ bytes: Uint8Array }>`
    WITH this_log AS (
      SELECT id FROM step_logs WHERE run_id = ${log.runId} AND job_id = ${log.jobId} AND step_index = ${log.stepIndex}::integer
    ), opening AS (
      SELECT max(c.start_offset) AS start_offset FROM step_log_chunks c JOIN this_log ON c.log_id = this_log.id
      WHERE c.start_offset <= ${start}::integer
    )
    SELECT substring(c.bytes FROM greatest(${start}::integer - c.start_offset, 0) + 1
                             FOR least(c.start_offset + octet_length(c.bytes), ${end}::integer) - greatest(c.start_offset, ${start}::integer)) AS bytes
    FROM step_log_chunks c JOIN this_log ON c.log_id = this_log.id, opening
    WHERE c.start_offset >= opening.start_offset AND c.start_offset < ${end}::integer
    ORDER BY c.start_offset`.execute(db);
  return Buffer.concat(rows.map((row) => toBuffer(row.bytes)));
}
