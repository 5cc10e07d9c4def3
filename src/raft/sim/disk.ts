/**
 * One server's simulated disk, behind the same `Disk` port FileStorage uses in production
 * (../disk.ts), so the simulator runs the real FileStorage code over it.
 *
 * What it models, and why each matters to a write-ahead log:
 * - page cache vs platter: each file has a durable prefix and unsynced bytes after it; `fsync`
 *   makes the file's current bytes durable. A truncation is unsynced too until the next fsync.
 * - directory entries: creating, renaming and removing files are unsynced until `fsyncDir` of
 *   their directory; a crash keeps a random prefix of the unsynced ones (the journal replays
 *   them in order, but may not have reached the end).
 * - `crash()`: every file keeps its durable bytes plus a random PREFIX of its unsynced bytes (a
 *   torn write), sometimes followed by a few garbage bytes (a sector half written); an unsynced
 *   truncation is kept or lost. Open handles and locks die with the process.
 * - faults: a bit flip in durable data (rot: the log must notice, not trust it); a full disk
 *   (a write fails with ENOSPC after writing a random prefix); a failed fsync (EIO, after which
 *   the unsynced data may be gone, as Linux drops dirty pages it could not write).
 * Directories themselves (`mkdirp`) are durable at once: FileStorage's directory is made once.
 * All randomness comes from the seed's PRNG, so a crash tears the same bytes on every replay.
 */
import * as path from 'node:path';
import type { Disk, FileHandle } from '../disk.js';
import type { SimRandom } from './random.js';

/** The contents of one file (an inode: a name points at it; a rename moves the name). */
class SimFile {
  /** bytes[0, length) is what a read sees now. */
  bytes = Buffer.alloc(0);
  length = 0;
  /** bytes[0, synced) is on the platter. */
  synced = 0;
  /**
   * Durable bytes beyond `synced` that an unsynced truncation cut off: the platter still holds
   * bytes[0, synced) + cutTail until the next fsync.
   */
  cutTail: Buffer | null = null;

  append(buf: Buffer): void {
    const need = this.length + buf.length;
    if (need > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(need, this.bytes.length * 2, 256));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    buf.copy(this.bytes, this.length);
    this.length = need;
  }

  truncate(len: number): void {
    if (len >= this.length) {
      // Growing a file by truncate is never needed by a log: pad with zeros as POSIX does.
      if (len > this.length) this.append(Buffer.alloc(len - this.length));
      return;
    }
    if (len < this.synced) {
      const cut = Buffer.from(this.bytes.subarray(len, this.synced));
      this.cutTail = this.cutTail ? Buffer.concat([cut, this.cutTail]) : cut;
      this.synced = len;
    }
    this.length = len;
  }

  sync(): void {
    this.synced = this.length;
    this.cutTail = null;
  }

  /** The platter's contents: what a crash would keep before tearing. */
  durable(): Buffer {
    const head = this.bytes.subarray(0, this.synced);
    return this.cutTail ? Buffer.concat([head, this.cutTail]) : Buffer.from(head);
  }

  read(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }
}

type DirOp = { dir: string; apply(names: Map<string, SimFile>): void };

export interface DiskFaultStats {
  tornWrites: number;
  garbageTails: number;
  lostDirOps: number;
  bitFlips: number;
  failedWrites: number;
  failedSyncs: number;
}

export class SimDisk implements Disk {
  /** The namespace a running process sees. */
  private names = new Map<string, SimFile>();
  /** The namespace on the platter. */
  private durableNames = new Map<string, SimFile>();
  private pendingDirOps: DirOp[] = [];
  private readonly dirs = new Set<string>();
  private handles = new Map<FileHandle, SimFile>();
  private nextHandle = 3;
  private readonly locks = new Set<string>();
  /** Writes fail with ENOSPC while set. */
  full = false;
  /** The next this many fsyncs fail with EIO. */
  failingSyncs = 0;
  readonly stats: DiskFaultStats = { tornWrites: 0, garbageTails: 0, lostDirOps: 0, bitFlips: 0, failedWrites: 0, failedSyncs: 0 };

  constructor(private readonly rng: SimRandom) {}

  mkdirp(dir: string): void {
    for (let d = path.normalize(dir); !this.dirs.has(d); d = path.dirname(d)) {
      this.dirs.add(d);
      if (path.dirname(d) === d) break;
    }
  }

  list(dir: string): string[] {
    const d = path.normalize(dir);
    if (!this.dirs.has(d)) throw errno('ENOENT', `scandir '${dir}'`);
    const out: string[] = [];
    for (const name of this.names.keys()) if (path.dirname(name) === d) out.push(path.basename(name));
    return out.sort();
  }

  exists(file: string): boolean {
    const f = path.normalize(file);
    return this.names.has(f) || this.dirs.has(f);
  }

  readFile(file: string): Buffer {
    return this.fileAt(file).read();
  }

  openAppend(file: string): FileHandle {
    const f = path.normalize(file);
    return this.open(this.names.get(f) ?? this.create(f));
  }

  openTruncate(file: string): FileHandle {
    const f = path.normalize(file);
    const existing = this.names.get(f);
    if (existing) existing.truncate(0);
    return this.open(existing ?? this.create(f));
  }

  size(h: FileHandle): number {
    return this.handle(h).length;
  }

  write(h: FileHandle, buf: Buffer): void {
    const file = this.handle(h);
    if (this.full) {
      // The bytes that fitted stay written; the caller must cut them off again.
      file.append(buf.subarray(0, this.rng.int(0, buf.length - 1)));
      this.stats.failedWrites++;
      throw errno('ENOSPC', 'write');
    }
    file.append(buf);
  }

  truncateHandle(h: FileHandle, len: number): void {
    this.handle(h).truncate(len);
  }

  truncate(file: string, len: number): void {
    this.fileAt(file).truncate(len);
  }

  fsync(h: FileHandle): void {
    const file = this.handle(h);
    if (this.failingSyncs > 0) {
      this.failingSyncs--;
      this.stats.failedSyncs++;
      // Linux marks the pages it could not write clean: the data may never reach the platter.
      if (this.rng.chance(0.5)) file.truncate(file.synced);
      throw errno('EIO', 'fsync');
    }
    file.sync();
  }

  close(h: FileHandle): void {
    this.handle(h);
    this.handles.delete(h);
  }

  rename(from: string, to: string): void {
    const src = path.normalize(from);
    const dst = path.normalize(to);
    const file = this.fileAt(src);
    this.names.set(dst, file);
    this.names.delete(src);
    this.pendingDirOps.push({
      dir: path.dirname(dst),
      apply: (names) => {
        names.set(dst, file);
        names.delete(src);
      },
    });
  }

  remove(file: string): void {
    const f = path.normalize(file);
    if (!this.names.has(f)) return;
    this.names.delete(f);
    this.pendingDirOps.push({ dir: path.dirname(f), apply: (names) => void names.delete(f) });
  }

  fsyncDir(dir: string): void {
    const d = path.normalize(dir);
    const rest: DirOp[] = [];
    for (const op of this.pendingDirOps) {
      if (op.dir === d) op.apply(this.durableNames);
      else rest.push(op);
    }
    this.pendingDirOps = rest;
  }

  lock(dir: string): () => void {
    const d = path.normalize(dir);
    if (this.locks.has(d)) throw new Error(`sim disk: ${dir} is locked by a live process`);
    this.locks.add(d);
    return () => void this.locks.delete(d);
  }

  /**
   * The process dies (and the machine with it): only what reached the platter survives, and the
   * unsynced tail of each file is torn at a random point.
   */
  crash(): void {
    const ops = this.pendingDirOps;
    const kept = this.rng.int(0, ops.length);
    for (let i = 0; i < kept; i++) ops[i].apply(this.durableNames);
    this.stats.lostDirOps += ops.length - kept;
    this.pendingDirOps = [];
    const survivors = new Map<SimFile, SimFile>();
    const names = new Map<string, SimFile>();
    // Sorted, so the PRNG is drawn in the same order on every replay.
    for (const name of [...this.durableNames.keys()].sort()) {
      const file = this.durableNames.get(name) as SimFile;
      let after = survivors.get(file);
      if (after === undefined) {
        after = this.tear(file);
        survivors.set(file, after);
      }
      names.set(name, after);
    }
    this.durableNames = names;
    this.names = new Map(names);
    this.handles = new Map();
    this.locks.clear();
  }

  /**
   * Flip one bit of durable data, uniformly over every durable byte of every file; returns where,
   * or null when nothing is durable yet.
   */
  flipBit(): { file: string; offset: number } | null {
    const files = [...this.durableNames.entries()].filter(([, f]) => f.durable().length > 0).sort(([a], [b]) => (a < b ? -1 : 1));
    const total = files.reduce((s, [, f]) => s + f.durable().length, 0);
    if (total === 0) return null;
    let at = this.rng.int(0, total - 1);
    for (const [name, f] of files) {
      const len = f.durable().length;
      if (at >= len) {
        at -= len;
        continue;
      }
      const mask = 1 << this.rng.int(0, 7);
      // The platter is damaged: the running process reads the same byte.
      if (at < f.synced) f.bytes[at] ^= mask;
      else if (f.cutTail) f.cutTail[at - f.synced] ^= mask;
      this.stats.bitFlips++;
      return { file: name, offset: at };
    }
    return null;
  }

  /** Bytes a crash would keep of `file` before tearing (for tests). */
  durableBytes(file: string): Buffer | undefined {
    return this.durableNames.get(path.normalize(file))?.durable();
  }

  private tear(file: SimFile): SimFile {
    const out = new SimFile();
    // An unsynced truncation may or may not have reached the platter.
    const truncationLost = file.cutTail !== null && this.rng.chance(0.5);
    if (truncationLost) {
      out.append(file.durable());
    } else {
      out.append(file.bytes.subarray(0, file.synced));
      const unsynced = file.length - file.synced;
      if (unsynced > 0) {
        const keep = this.rng.int(0, unsynced);
        out.append(file.bytes.subarray(file.synced, file.synced + keep));
        if (keep < unsynced) {
          this.stats.tornWrites++;
          if (this.rng.chance(0.25)) {
            const junk = Buffer.alloc(this.rng.int(1, 16));
            for (let i = 0; i < junk.length; i++) junk[i] = this.rng.int(0, 255);
            out.append(junk);
            this.stats.garbageTails++;
          }
        }
      }
    }
    out.sync();
    return out;
  }

  private create(name: string): SimFile {
    if (!this.dirs.has(path.dirname(name))) throw errno('ENOENT', `open '${name}'`);
    const file = new SimFile();
    this.names.set(name, file);
    this.pendingDirOps.push({ dir: path.dirname(name), apply: (names) => void names.set(name, file) });
    return file;
  }

  private open(file: SimFile): FileHandle {
    const h = this.nextHandle++;
    this.handles.set(h, file);
    return h;
  }

  private handle(h: FileHandle): SimFile {
    const f = this.handles.get(h);
    if (f === undefined) throw errno('EBADF', `handle ${h}`);
    return f;
  }

  private fileAt(file: string): SimFile {
    const f = this.names.get(path.normalize(file));
    if (f === undefined) throw errno('ENOENT', `open '${file}'`);
    return f;
  }
}

function errno(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}
