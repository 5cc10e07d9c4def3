/**
 * Step logs in an S3 bucket. S3 cannot append to an object, and rewriting one growing object on
 * every append would cost O(n²) bytes, so each append is its own chunk object named by the byte
 * offset it starts at: `kici-logs/executions/<run>/jobs/<job>/step-<index>/<offset, 16 digits>` (the
 * filesystem store's folders, so `kici-logs/` is the one folder no backend uses for blobs).
 * Zero-padded offsets list in order; the log's size is the end of its last chunk. The cap rule is step-log-rules.ts, as on the
 * other backends, and the size alone says whether the notice is written.
 *
 * Appends to one step are serialised in this process (as on the filesystem): one node, the run's
 * owner, writes a step's log. Nothing serialises two processes appending to one step (S3 has no
 * lock); ownership of the run is what keeps them apart.
 *
 * A chunk whose write still fails after the retries is not lost silently: the loss is remembered,
 * and a line saying how many bytes could not be stored, and why, is written into the step's log
 * with its next append (or shortly after, if none comes). The append itself rejects, so the run's
 * observer logs it too.
 */
import { keySegment } from './blob-store.js';
import { lostBytesNotice } from './s3-failures.js';
import { describeS3Error, type S3Requests } from './s3-requests.js';
import { S3StepLogIndex, type StepChunks } from './s3-step-log-index.js';
import { appendUnderCap, chunkOf, readWindow, STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES } from './step-log-rules.js';
import { assertStepIndex, type StepLogChunk, type StepLogInfo, type StepLogStore } from './step-logs.js';

/** Chunks fetched at once by one read. */
const READ_PARALLELISM = 8;

interface Loss {
  bytes: number;
  reason: string;
}

export class S3StepLogStore implements StepLogStore {
  private readonly capBytes: number;
  private readonly lossNoticeDelayMs: number;
  private readonly index: S3StepLogIndex;
  /** Appends to one step are chained so a size check and its write never interleave with another. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Bytes of a step that could not be stored, until a notice saying so is in its log. */
  private readonly losses = new Map<string, Loss>();

  constructor(
    private readonly objects: S3Requests,
    options: { capBytes?: number; lossNoticeDelayMs?: number } = {},
  ) {
    this.capBytes = options.capBytes ?? STEP_LOG_CAP_BYTES;
    this.lossNoticeDelayMs = options.lossNoticeDelayMs ?? 5000;
    this.index = new S3StepLogIndex(objects);
  }

  private folderOf(runId: string, jobId: string, stepIndex: number): string {
    assertStepIndex(stepIndex);
    return `${jobFolder(runId, jobId)}step-${stepIndex}/`;
  }

  append(runId: string, jobId: string, stepIndex: number, text: string): Promise<number> {
    let folder: string;
    try {
      folder = this.folderOf(runId, jobId, stepIndex);
    } catch (error) {
      return Promise.reject(error);
    }
    // Nothing to keep: leave the log as it is, and create none (as the other backends do).
    if (text === '') return Promise.resolve(0);
    return this.queued(folder, () => this.appendNow(folder, text));
  }

  private queued<T>(folder: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(folder) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.tails.set(folder, next);
    void next
      .finally(() => {
        if (this.tails.get(folder) === next) this.tails.delete(folder);
      })
      .catch(() => undefined);
    return next;
  }

  private async appendNow(folder: string, text: string): Promise<number> {
    // Until the cap rule has said how much of the text is kept, all of it is at stake.
    let atStake = Buffer.byteLength(text, 'utf8');
    try {
      const chunks = await this.index.refresh(folder);
      await this.writeLossNotice(folder, chunks);
      const { write, kept } = appendUnderCap(chunks.size, text, this.capBytes);
      atStake = kept;
      if (write.length > 0) await this.writeChunk(folder, chunks, write);
      return kept;
    } catch (error) {
      const loss = this.losses.get(folder) ?? { bytes: 0, reason: '' };
      loss.bytes += atStake;
      loss.reason = describeS3Error(error);
      this.losses.set(folder, loss);
      this.flushLossLater(folder);
      throw new Error(`step log ${folder}: ${atStake} bytes not stored: ${loss.reason}`, { cause: error });
    }
  }

  /** The pending loss notice, if any, ahead of whatever comes next (under the cap like any text). */
  private async writeLossNotice(folder: string, chunks: StepChunks): Promise<void> {
    const loss = this.losses.get(folder);
    if (!loss) return;
    const { write } = appendUnderCap(chunks.size, lostBytesNotice(loss.bytes, loss.reason), this.capBytes);
    if (write.length > 0) await this.writeChunk(folder, chunks, write);
    this.losses.delete(folder);
  }

  /** With no later append to carry it, the notice is written on its own after a pause. */
  private flushLossLater(folder: string): void {
    const timer = setTimeout(() => {
      if (!this.losses.has(folder)) return;
      this.queued(folder, async () => this.writeLossNotice(folder, await this.index.refresh(folder))).catch(() => undefined);
    }, this.lossNoticeDelayMs);
    timer.unref();
  }

  private async writeChunk(folder: string, chunks: StepChunks, bytes: Buffer): Promise<void> {
    const key = `${folder}${chunkName(chunks.size)}`;
    await this.objects.put(key, bytes);
    this.index.add(chunks, key, bytes.length);
  }

  async read(runId: string, jobId: string, stepIndex: number, fromOffset = 0, maxBytes = STEP_LOG_READ_BYTES): Promise<StepLogChunk> {
    const folder = this.folderOf(runId, jobId, stepIndex);
    const chunks = await this.index.refresh(folder);
    const size = chunks.size;
    const { start, length } = readWindow(size, fromOffset, maxBytes);
    if (length <= 0) return { text: '', nextOffset: start, size };
    const end = start + length;
    const wanted = chunks.list.filter((c) => c.offset < end && c.offset + c.size > start);
    const pieces: Buffer[] = [];
    for (let i = 0; i < wanted.length; i += READ_PARALLELISM) {
      const batch = wanted.slice(i, i + READ_PARALLELISM);
      pieces.push(
        ...(await Promise.all(
          batch.map(async (c) => {
            const bytes = await this.objects.get(`${folder}${chunkName(c.offset)}`);
            if (!bytes || bytes.length !== c.size) throw new Error(`step log ${folder}: chunk at ${c.offset} is missing or changed`);
            return bytes.subarray(Math.max(0, start - c.offset), Math.min(c.size, end - c.offset));
          }),
        )),
      );
    }
    return chunkOf(Buffer.concat(pieces), start, size);
  }

  async listJobLogs(runId: string, jobId: string): Promise<StepLogInfo[]> {
    const folder = jobFolder(runId, jobId);
    const sizes = new Map<number, number>();
    for await (const object of this.objects.list(folder)) {
      const match = /^step-(\d+)\/\d{16}$/.exec(object.key.slice(folder.length));
      if (!match) continue;
      const step = Number(match[1]);
      sizes.set(step, (sizes.get(step) ?? 0) + object.size);
    }
    return [...sizes].map(([stepIndex, bytes]) => ({ stepIndex, bytes })).sort((a, b) => a.stepIndex - b.stepIndex);
  }

  /** Chunk by chunk (a few at a time): S3's batch delete needs checksums some compatible servers refuse. */
  async deleteRunLogs(runId: string): Promise<number> {
    const folder = runFolder(runId);
    const objects = [];
    for await (const object of this.objects.list(folder)) objects.push(object);
    for (let i = 0; i < objects.length; i += READ_PARALLELISM) {
      await Promise.all(objects.slice(i, i + READ_PARALLELISM).map((o) => this.objects.delete(o.key)));
    }
    this.index.forget(folder);
    return objects.reduce((total, o) => total + o.size, 0);
  }
}

function runFolder(runId: string): string {
  return `kici-logs/executions/${keySegment(runId)}/`;
}

function jobFolder(runId: string, jobId: string): string {
  return `${runFolder(runId)}jobs/${keySegment(jobId)}/`;
}

/** 16 digits hold any safe integer offset, so names sort as their offsets do. */
export function chunkName(offset: number): string {
  return String(offset).padStart(16, '0');
}
