/**
 * Step logs on the filesystem: one append-only file per step under
 * `<root>/kici-logs/executions/<runId>/jobs/<jobId>/step-<index>.log`.
 *
 * Each step is capped (10 MiB by default). The append that crosses the cap keeps what fits, then a
 * single truncation notice is written after it; everything later is dropped. The file being longer
 * than the cap is itself the "notice already written" mark, so the rule survives restarts.
 */
import { appendFile, mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { keySegment } from './blob-store.js';

export const STEP_LOG_CAP_BYTES = 10 * 1024 * 1024;

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
}

export function truncationNotice(capBytes: number): string {
  return `\n[kici] log truncated: this step's output exceeded ${capBytes} bytes; the rest was dropped\n`;
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

  private jobDir(runId: string, jobId: string): string {
    return join(this.root, 'kici-logs', 'executions', keySegment(runId), 'jobs', keySegment(jobId));
  }

  private pathOf(runId: string, jobId: string, stepIndex: number): string {
    if (!Number.isInteger(stepIndex) || stepIndex < 0) throw new Error(`invalid step index ${stepIndex}`);
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
    const size = await fileSize(path);
    if (size > this.capBytes) return 0;
    const bytes = Buffer.from(text, 'utf8');
    const room = this.capBytes - size;
    await mkdir(join(path, '..'), { recursive: true });
    if (bytes.length <= room) {
      if (bytes.length > 0) await appendFile(path, bytes);
      return bytes.length;
    }
    const kept = bytes.subarray(0, utf8Boundary(bytes, room));
    await appendFile(path, Buffer.concat([kept, Buffer.from(truncationNotice(this.capBytes), 'utf8')]));
    return kept.length;
  }

  async read(
    runId: string,
    jobId: string,
    stepIndex: number,
    fromOffset = 0,
    maxBytes = 1024 * 1024,
  ): Promise<StepLogChunk> {
    const path = this.pathOf(runId, jobId, stepIndex);
    const size = await fileSize(path);
    const start = Math.max(0, Math.min(fromOffset, size));
    const length = Math.min(maxBytes, size - start);
    if (length <= 0) return { text: '', nextOffset: start, size };
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      // Never hand back half a character: stop before an incomplete trailing sequence.
      const read = buffer.subarray(0, bytesRead);
      const end = start + bytesRead < size ? completeUtf8Length(read) : bytesRead;
      return { text: buffer.subarray(0, end).toString('utf8'), nextOffset: start + end, size };
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
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * The largest cut ≤ `limit` that does not split a UTF-8 sequence: step back over continuation
 * bytes (10xxxxxx) to the lead byte, and cut before it unless the whole sequence fits.
 */
export function utf8Boundary(bytes: Uint8Array, limit: number): number {
  if (limit >= bytes.length) return bytes.length;
  let cut = limit;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/** Length of `bytes` without an incomplete UTF-8 sequence at its end. */
export function completeUtf8Length(bytes: Uint8Array): number {
  let lead = bytes.length - 1;
  while (lead >= 0 && bytes.length - lead < 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return bytes.length;
  const first = bytes[lead]!;
  const needed = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return bytes.length - lead >= needed ? bytes.length : lead;
}
