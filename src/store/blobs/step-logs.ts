/**
 * Step logs: the port, and its filesystem backend with one append-only file per step under
 * `<root>/kici-logs/executions/<runId>/jobs/<jobId>/step-<index>.log`.
 *
 * Each step is capped (10 MiB by default). The append that crosses the cap keeps what fits, then a
 * single truncation notice is written after it; everything later is dropped. The file being longer
 * than the cap is itself the "notice already written" mark, so the rule survives restarts (the rule
 * itself is in step-log-rules.ts, shared with the database backend).
 */
import { appendFile, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { keySegment } from './blob-store.js';
import { appendUnderCap, chunkOf, readWindow, STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES } from './step-log-rules.js';

export interface StepLogChunk {
  text: string;
  /** Byte offset to pass to the next read. */
  nextOffset: number;
  /** Bytes in the log right now. */
  size: number;
}

export interface StepLogInfo {
  stepIndex: number;
  bytes: number;
}

export interface StepLogStore {
  /** Returns how many bytes of `text` were kept (less than its length once the cap is reached). */
  append(runId: string, jobId: string, stepIndex: number, text: string): Promise<number>;
  read(runId: string, jobId: string, stepIndex: number, fromOffset?: number, maxBytes?: number): Promise<StepLogChunk>;
  /** The job's step logs that exist, by step index. */
  listJobLogs(runId: string, jobId: string): Promise<StepLogInfo[]>;
  /**
   * Delete every step log of the run, all its jobs (retention). Returns the bytes removed: 0 when
   * the run had none, so a repeat is harmless. Reads afterwards see absent logs.
   */
  deleteRunLogs(runId: string): Promise<number>;
}

/** Step indexes are a step's position in its job: 0, 1, 2, … */
export function assertStepIndex(stepIndex: number): void {
  if (!Number.isInteger(stepIndex) || stepIndex < 0) throw new Error(`invalid step index ${stepIndex}`);
}

export class FilesystemStepLogStore implements StepLogStore {
  private readonly capBytes: number;
  /** Appends to one file are chained so a size check and its write never interleave with another. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    options: { capBytes?: number } = {},
  ) {
    this.capBytes = options.capBytes ?? STEP_LOG_CAP_BYTES;
  }

  private runDir(runId: string): string {
    return join(this.root, 'kici-logs', 'executions', keySegment(runId));
  }

  private jobDir(runId: string, jobId: string): string {
    return join(this.runDir(runId), 'jobs', keySegment(jobId));
  }

  private pathOf(runId: string, jobId: string, stepIndex: number): string {
    assertStepIndex(stepIndex);
    return join(this.jobDir(runId, jobId), `step-${stepIndex}.log`);
  }

  append(runId: string, jobId: string, stepIndex: number, text: string): Promise<number> {
    let path: string;
    try {
      path = this.pathOf(runId, jobId, stepIndex);
    } catch (error) {
      return Promise.reject(error);
    }
    const previous = this.tails.get(path) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(path, text));
    this.tails.set(path, next);
    void next.finally(() => {
      if (this.tails.get(path) === next) this.tails.delete(path);
    }).catch(() => undefined);
    return next;
  }

  private async appendNow(path: string, text: string): Promise<number> {
    const { write, kept } = appendUnderCap(await fileSize(path), text, this.capBytes);
    if (write.length > 0) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, write);
    }
    return kept;
  }

  async read(
    runId: string,
    jobId: string,
    stepIndex: number,
    fromOffset = 0,
    maxBytes = STEP_LOG_READ_BYTES,
  ): Promise<StepLogChunk> {
    const path = this.pathOf(runId, jobId, stepIndex);
    const size = await fileSize(path);
    const { start, length } = readWindow(size, fromOffset, maxBytes);
    if (length <= 0) return { text: '', nextOffset: start, size };
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return chunkOf(buffer.subarray(0, bytesRead), start, size);
    } finally {
      await handle.close();
    }
  }

  async listJobLogs(runId: string, jobId: string): Promise<StepLogInfo[]> {
    const dir = this.jobDir(runId, jobId);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const logs: StepLogInfo[] = [];
    for (const name of names) {
      const match = /^step-(\d+)\.log$/.exec(name);
      if (match) logs.push({ stepIndex: Number(match[1]), bytes: await fileSize(join(dir, name)) });
    }
    return logs.sort((a, b) => a.stepIndex - b.stepIndex);
  }

  async deleteRunLogs(runId: string): Promise<number> {
    const dir = this.runDir(runId);
    const bytes = await treeBytes(dir);
    await rm(dir, { recursive: true, force: true });
    return bytes;
  }
}

/** The bytes of the files below `dir` (0 when it does not exist). */
async function treeBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else if (entry.isFile()) total += await fileSize(path);
  }
  return total;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
