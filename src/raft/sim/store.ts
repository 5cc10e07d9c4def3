/**
 * What survives a server's crash: its stable store. A process opens its storage from the store
 * when it starts, and a crash keeps only what the store keeps. Two kinds:
 * - `MemoryStore`: SimStorage, a write-ahead log of whole records (a crash loses unsynced records
 *   whole, never part of one). Cheap; the original model.
 * - `FileStore`: the production FileStorage over a simulated disk (SimDisk), so a crash tears the
 *   unsynced tail of a segment mid-record, directory entries may be lost, and the disk can rot,
 *   fill up or fail an fsync. Opening may then refuse (StorageFailedError): the server stays down
 *   until an operator repairs it, which the simulator never does.
 */
import { FileStorage, type FileStorageOptions } from '../storage-file.js';
import { StorageFailedError, type ConfState, type HardState, type WritableLogStorage } from '../types.js';
import { SimDisk } from './disk.js';
import type { SimRandom } from './random.js';
import { SimStorage } from './storage.js';

/** The storage a host drives: the core's write side plus the hard state, which the checker reads. */
export type HostStorage = WritableLogStorage & { hardState(): HardState };

export type StoreKind = 'memory' | 'file';

export interface NodeStore {
  readonly kind: StoreKind;
  /** The disk under a FileStore (for disk faults); undefined for a MemoryStore. */
  readonly disk?: SimDisk;
  /** The storage a starting process opens. Throws when the stored state refuses to load. */
  open(): HostStorage;
  /** The process died: keep only what a crash keeps. The storage opened before is dead. */
  crash(): void;
  /** Lose everything (the checker's self-test: Raft does not survive this). */
  wipe(): void;
}

export class MemoryStore implements NodeStore {
  readonly kind = 'memory';
  private storage: SimStorage;

  constructor(private readonly conf: ConfState) {
    this.storage = new SimStorage(conf);
  }

  open(): SimStorage {
    return this.storage;
  }

  crash(): void {
    this.storage = this.storage.durableImage();
  }

  wipe(): void {
    this.storage = new SimStorage(this.conf);
  }
}

/** Where FileStorage lives on each simulated disk. */
export const RAFT_DIR = '/kici/raft';

/**
 * Small segments, so rotation and the deletion of segments covered by a snapshot happen within a
 * seed (production uses 8 MiB).
 */
export const SIM_SEGMENT_BYTES = 16 * 1024;

export class FileStore implements NodeStore {
  readonly kind = 'file';
  disk: SimDisk;

  constructor(
    private readonly conf: ConfState,
    private readonly rng: SimRandom,
  ) {
    this.disk = new SimDisk(rng.fork('disk'));
  }

  open(): FileStorage {
    const opts: FileStorageOptions & { disk: SimDisk } = { conf: this.conf, segmentBytes: SIM_SEGMENT_BYTES, disk: this.disk };
    return new FileStorage(RAFT_DIR, opts);
  }

  crash(): void {
    this.disk.crash();
  }

  wipe(): void {
    this.disk = new SimDisk(this.rng.fork('wiped disk'));
  }
}

/**
 * Why a storage error stops the server for good, or null when the error is not the storage's (a
 * bug, which must propagate). A full disk or a failed fsync may surface as the disk's own error.
 */
export function storageFailure(e: unknown): string | null {
  if (e instanceof StorageFailedError) return e.message;
  // FileStorage undoes a failed write and rethrows with the disk's error as the cause.
  for (let at: unknown = e, depth = 0; at instanceof Error && depth < 4; at = at.cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EIO') return (e as Error).message;
  }
  return null;
}
