/**
 * The disk FileStorage writes through: the few file operations a write-ahead log needs, and no
 * more. `nodeDisk` is the real one (node:fs); the simulator supplies a disk that tears writes,
 * loses unsynced data on a crash, flips bits, fills up and fails fsyncs (sim/disk.ts), so the
 * same FileStorage code is what the simulator exercises.
 *
 * Semantics every implementation keeps:
 * - `write` appends at the end of an open file and returns once all bytes are in the file (or
 *   throws, having written any prefix of them);
 * - data written is durable only after `fsync` of its file returns; creating, renaming and
 *   removing files is durable only after `fsyncDir` of their directory returns;
 * - an error from `fsync` means the data's fate is unknown (Linux may have dropped the dirty
 *   pages): the caller must not retry as if nothing happened.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An open file, appended to. */
export type FileHandle = number;

export interface Disk {
  mkdirp(dir: string): void;
  /** Names (not paths) of the entries of `dir`. */
  list(dir: string): string[];
  exists(file: string): boolean;
  readFile(file: string): Buffer;
  /** Open for appending, creating it if missing. */
  openAppend(file: string): FileHandle;
  /** Create or empty the file and open it for appending. */
  openTruncate(file: string): FileHandle;
  size(h: FileHandle): number;
  write(h: FileHandle, buf: Buffer): void;
  /** Cut an open file back to `len` bytes (undoing a failed write). */
  truncateHandle(h: FileHandle, len: number): void;
  truncate(file: string, len: number): void;
  fsync(h: FileHandle): void;
  close(h: FileHandle): void;
  rename(from: string, to: string): void;
  remove(file: string): void;
  fsyncDir(dir: string): void;
  /**
   * Hold `dir` for this process: throws when a live process already holds it. Returns the
   * release function.
   */
  lock(dir: string): () => void;
}

export const nodeDisk: Disk = {
  mkdirp: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  list: (dir) => fs.readdirSync(dir),
  exists: (file) => fs.existsSync(file),
  readFile: (file) => fs.readFileSync(file),
  openAppend: (file) => fs.openSync(file, 'a'),
  // O_APPEND as well ('w' has not): after truncateHandle undoes a write, the next write must land
  // at the new end, not at the old file position (which would leave a hole of zeros).
  openTruncate: (file) => fs.openSync(file, APPEND_TRUNCATE),
  size: (h) => fs.fstatSync(h).size,
  write: (h, buf) => {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(h, buf, off, buf.length - off);
  },
  truncateHandle: (h, len) => fs.ftruncateSync(h, len),
  truncate: (file, len) => fs.truncateSync(file, len),
  fsync: (h) => fs.fsyncSync(h),
  close: (h) => fs.closeSync(h),
  rename: (from, to) => fs.renameSync(from, to),
  remove: (file) => fs.rmSync(file, { force: true }),
  fsyncDir,
  lock: takeLock,
};

const APPEND_TRUNCATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_APPEND;

const LOCK_FILE = 'lock';

/**
 * Two processes appending to one log would interleave records: refuse a directory that a live
 * process holds. A lock left by a dead process (a crash) is taken over.
 */
function takeLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const release = () => fs.rmSync(file, { force: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(fs.readFileSync(file, 'utf8').trim());
    if (holder !== process.pid && processAlive(holder)) {
      throw new Error(`file storage: ${dir} is in use by process ${holder}`);
    }
    release();
  }
  throw new Error(`file storage: cannot lock ${dir}`);
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  // Makes renames, creations and deletions in `dir` durable; not every platform allows it.
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort where directories cannot be opened */
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
