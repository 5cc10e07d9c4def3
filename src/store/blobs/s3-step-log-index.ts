/**
 * Where each chunk of a step's log starts and how long it is, as listed from S3. Chunks are never
 * rewritten, so a step already seen is brought up to date by listing only the keys after its last
 * chunk (usually an empty page): an append costs one short list, not a list of the whole log, and
 * a chunk another node wrote since is still found before this node writes at an offset.
 */
import type { S3Requests } from './s3-requests.js';

export interface StepChunks {
  list: { offset: number; size: number }[];
  /** Bytes in the log: the end of its last chunk. */
  size: number;
  /** The last chunk's key, to list after. */
  lastKey?: string;
}

/** Steps remembered per process; the least recently used is forgotten (and listed whole if seen again). */
const REMEMBERED_STEPS = 1024;

export class S3StepLogIndex {
  private readonly steps = new Map<string, StepChunks>();

  constructor(private readonly objects: S3Requests) {}

  /** The step's chunks, including any written since they were last listed. */
  async refresh(folder: string): Promise<StepChunks> {
    const chunks = this.steps.get(folder) ?? { list: [], size: 0 };
    this.steps.delete(folder);
    this.steps.set(folder, chunks);
    if (this.steps.size > REMEMBERED_STEPS) this.steps.delete(this.steps.keys().next().value!);
    for await (const object of this.objects.list(folder, chunks.lastKey)) {
      const name = object.key.slice(folder.length);
      if (!/^\d{16}$/.test(name)) continue;
      const offset = Number(name);
      // A read racing an append (or another read) may list a chunk already added.
      if (offset < chunks.size) continue;
      if (offset > chunks.size) throw new Error(`step log ${folder}: chunks end at ${chunks.size} but the next starts at ${offset}`);
      this.add(chunks, object.key, object.size);
    }
    return chunks;
  }

  /** Forget every step below `folder` (its logs were deleted). */
  forget(folder: string): void {
    for (const step of [...this.steps.keys()]) if (step.startsWith(folder)) this.steps.delete(step);
  }

  add(chunks: StepChunks, key: string, size: number): void {
    const offset = chunks.size;
    if (chunks.lastKey !== undefined && key <= chunks.lastKey) return;
    chunks.list.push({ offset, size });
    chunks.size = offset + size;
    chunks.lastKey = key;
  }
}
