/**
 * Copy object storage from one backend to another (`kici-admin storage migrate`): every blob, and
 * the step log of every job the store knows. Resumable: a blob already at the target with the same
 * size is skipped, and a step log the target holds part of is continued from where it stops, so a
 * migration cut short is simply run again. Nothing is deleted from the source.
 *
 * Step logs are copied through the StepLogStore port (read a window, append it), so each backend
 * keeps its own layout; appending under the same cap gives the same bytes, truncation notice
 * included. Keys under `kici-logs/` (the filesystem's step logs, seen by its blob listing) and
 * `.kici-probe/` (S3's start-time check) are not blobs and are not copied as such.
 */
import type { Store } from '../store.js';
import type { BlobStore } from './blob-store.js';
import type { ObjectStorage } from './object-storage.js';
import type { S3StorageSettings } from './s3-settings.js';

export type StorageKind = 'filesystem' | 'database' | 's3';

/** Where a migration copies to: the data directory, the store's database, or a bucket. */
export type StorageTarget = { to: 'filesystem' } | { to: 'database' } | { to: 's3'; s3: S3StorageSettings };

/** What a migration did, or why it would not start. */
export type StorageMigrationResult = { refused: string } | { from: StorageKind; to: StorageKind; counts: StorageMigrationCounts };

export interface StorageMigrationCounts {
  blobs: { copied: number; skipped: number; bytes: number };
  /** `differs`: the target's log is longer than the source's; it is left alone. */
  stepLogs: { copied: number; skipped: number; differs: number; bytes: number };
}

const NOT_BLOBS = ['kici-logs/', '.kici-probe/'];

/** The bytes one read of a step log asks for. */
const WINDOW_BYTES = 1024 * 1024;

export async function migrateObjectStorage(store: Pick<Store, 'runs' | 'jobs'>, from: ObjectStorage, to: ObjectStorage): Promise<StorageMigrationCounts> {
  const counts: StorageMigrationCounts = { blobs: { copied: 0, skipped: 0, bytes: 0 }, stepLogs: { copied: 0, skipped: 0, differs: 0, bytes: 0 } };
  await copyBlobs(from.blobs, to.blobs, counts);
  for await (const { runId, jobId } of everyJob(store)) await copyJobLogs(from, to, runId, jobId, counts);
  return counts;
}

async function copyBlobs(from: BlobStore, to: BlobStore, counts: StorageMigrationCounts): Promise<void> {
  for (const key of await from.list('')) {
    if (NOT_BLOBS.some((folder) => key.startsWith(folder))) continue;
    const bytes = await from.get(key);
    if (!bytes) continue; // deleted since it was listed
    const there = await to.get(key);
    if (there && there.length === bytes.length) {
      counts.blobs.skipped++;
      continue;
    }
    await to.put(key, bytes);
    counts.blobs.copied++;
    counts.blobs.bytes += bytes.length;
  }
}

async function copyJobLogs(from: ObjectStorage, to: ObjectStorage, runId: string, jobId: string, counts: StorageMigrationCounts): Promise<void> {
  const there = new Map((await to.stepLogs.listJobLogs(runId, jobId)).map((log) => [log.stepIndex, log.bytes]));
  for (const log of await from.stepLogs.listJobLogs(runId, jobId)) {
    const done = there.get(log.stepIndex) ?? 0;
    if (done === log.bytes) {
      counts.stepLogs.skipped++;
      continue;
    }
    if (done > log.bytes) {
      counts.stepLogs.differs++;
      continue;
    }
    // Continue from where the target stops: appends land on whole characters, so that is one too.
    let offset = done;
    while (offset < log.bytes) {
      const chunk = await from.stepLogs.read(runId, jobId, log.stepIndex, offset, WINDOW_BYTES);
      if (chunk.nextOffset <= offset) break;
      await to.stepLogs.append(runId, jobId, log.stepIndex, chunk.text);
      counts.stepLogs.bytes += chunk.nextOffset - offset;
      offset = chunk.nextOffset;
    }
    counts.stepLogs.copied++;
  }
}

/** Every job of every run, newest runs first, a page at a time. */
async function* everyJob(store: Pick<Store, 'runs' | 'jobs'>): AsyncGenerator<{ runId: string; jobId: string }> {
  const seen = new Set<string>();
  let before: Date | undefined;
  for (;;) {
    const page = await store.runs.list({ before, limit: 200 });
    const fresh = page.filter((run) => !seen.has(run.id));
    for (const run of fresh) {
      seen.add(run.id);
      for (const job of await store.jobs.list(run.id)) yield { runId: run.id, jobId: job.id };
    }
    if (page.length < 200) return;
    // Runs created in one transaction share an instant: list again from just after the oldest one
    // and skip those already seen, so none on a page boundary is missed. A page with nothing new
    // (200 runs of one instant) moves strictly before it.
    const oldest = page[page.length - 1]!.createdAt.getTime();
    before = new Date(fresh.length > 0 ? oldest + 1 : oldest);
  }
}
