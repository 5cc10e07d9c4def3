/**
 * FileStorage over a disk that fails: a write cut short is undone, a failed fsync stops the
 * storage for good, an oversize record is refused before anything is written. The faults come
 * from a thin wrapper around the real disk (the Disk port's contract, as the simulator uses it).
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileStorage, MAX_ENTRY_DATA_BYTES, StorageFailedError, type Entry } from '../../../src/raft/index.js';
import { nodeDisk, type Disk } from '../../../src/raft/disk.js';
import { MAX_RECORD_BYTES, entryPayload } from '../../../src/raft/record.js';
import { tempDirEach } from './temp-dir.js';
import { entriesOf, segmentFiles } from './log-fixtures.js';

const conf = { voters: [1, 2, 3], learners: [] };
const enc = new TextEncoder();

const ents = (from: number, to: number, term: number): Entry[] => entriesOf(from, to, term, (i) => `entry ${i}`);

/** The real disk, with faults switched on by the test. */
class FaultyDisk {
  /** Fail the n-th write from now (1: the next), after writing half of it; 0: never. */
  failWriteIn = 0;
  failTruncate = false;
  failFsync = false;
  failFsyncDir = false;
  readonly disk: Disk = {
    ...nodeDisk,
    write: (h, buf) => {
      if (this.failWriteIn > 0 && --this.failWriteIn === 0) {
        nodeDisk.write(h, buf.subarray(0, buf.length >> 1));
        throw new Error('ENOSPC: no space left on device, write');
      }
      nodeDisk.write(h, buf);
    },
    truncateHandle: (h, len) => {
      if (this.failTruncate) throw new Error('EIO: i/o error, ftruncate');
      nodeDisk.truncateHandle(h, len);
    },
    fsync: (h) => {
      if (this.failFsync) throw new Error('EIO: i/o error, fsync');
      nodeDisk.fsync(h);
    },
    fsyncDir: (d) => {
      if (this.failFsyncDir) throw new Error('EIO: i/o error, fsync');
      nodeDisk.fsyncDir(d);
    },
  };
}


function bytesOnDisk(dir: string): number {
  return segmentFiles(dir).reduce((n, f) => n + fs.statSync(f).size, 0);
}

describe('FileStorage over a failing disk', () => {
  let dir: string;
  let faulty: FaultyDisk;
  let s: FileStorage;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kici-raft-faults-'));
    faulty = new FaultyDisk();
    s = new FileStorage(dir, { conf, disk: faulty.disk });
    s.append(ents(1, 3, 1));
    s.setHardState({ term: 1, vote: 1, commit: 2 });
    s.sync();
  });
  afterEach(() => {
    s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function expectFailedForGood(): void {
    faulty.failFsync = faulty.failFsyncDir = faulty.failTruncate = false;
    faulty.failWriteIn = 0;
    expect(() => s.sync()).toThrow(StorageFailedError);
    expect(() => s.append(ents(4, 4, 1))).toThrow(StorageFailedError);
    expect(() => s.setHardState({ term: 2, vote: 0, commit: 2 })).toThrow(StorageFailedError);
    expect(() => s.compact(2, enc.encode('s'), conf)).toThrow(StorageFailedError);
    expect(() => s.applySnapshot({ meta: { index: 9, term: 2, conf }, data: enc.encode('s') })).toThrow(
      StorageFailedError,
    );
  }

  it('a write that fails halfway is undone; the storage carries on', () => {
    const before = bytesOnDisk(dir);
    faulty.failWriteIn = 1;
    let err: unknown;
    try {
      s.append(ents(4, 6, 1));
    } catch (e) {
      err = e;
    }
    expect(bytesOnDisk(dir)).toBe(before);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StorageFailedError);
    expect((err as Error).message).toMatch(/failed and was undone: ENOSPC/);
    expect(s.lastIndex()).toBe(3);
    // What follows lands after the last intact record and survives a reopen.
    s.append(ents(4, 5, 2));
    s.setHardState({ term: 2, vote: 1, commit: 5 });
    s.sync();
    s.close();
    s = new FileStorage(dir);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(5)).toBe(2);
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 5 });
    expect(s.recovery.truncatedBytes).toBe(0);
  });

  it('a failed hard state write keeps the previous hard state', () => {
    faulty.failWriteIn = 1;
    expect(() => s.setHardState({ term: 5, vote: 3, commit: 3 })).toThrow(/undone/);
    expect(s.hardState()).toEqual({ term: 1, vote: 1, commit: 2 });
  });

  it('a write whose undo fails marks the storage failed', () => {
    faulty.failWriteIn = 1;
    faulty.failTruncate = true;
    expect(() => s.append(ents(4, 6, 1))).toThrow(StorageFailedError);
    expectFailedForGood();
  });

  it('a failed fsync marks the storage failed for good', () => {
    s.append(ents(4, 4, 1));
    faulty.failFsync = true;
    expect(() => s.sync()).toThrow(StorageFailedError);
    expect(() => s.sync()).toThrow(/fsync of .*0000000000000001\.log failed \(EIO/);
    expectFailedForGood();
    // Reads still answer, and close releases the directory.
    expect(s.lastIndex()).toBe(4);
    s.close();
    expect(fs.existsSync(path.join(dir, 'lock'))).toBe(false);
  });

  it('a failed directory fsync marks the storage failed for good', () => {
    faulty.failFsyncDir = true;
    expect(() => s.compact(2, enc.encode('s'), conf)).toThrow(StorageFailedError);
    expectFailedForGood();
  });

  it('a failed fsync during a rotation marks the storage failed', () => {
    s.close();
    s = new FileStorage(dir, { conf, segmentBytes: 1, disk: faulty.disk });
    s.append(ents(4, 4, 1)); // rotates first, then writes
    faulty.failFsync = true;
    expect(() => s.append(ents(5, 5, 1))).toThrow(StorageFailedError); // the rotation syncs
    expectFailedForGood();
  });

  it('a rotation that fails writes nothing and is tried again', () => {
    s.close();
    s = new FileStorage(dir, { conf, segmentBytes: 1, disk: faulty.disk });
    const before = segmentFiles(dir).length;
    faulty.failWriteIn = 1; // the hard state that opens the next segment
    expect(() => s.setHardState({ term: 2, vote: 1, commit: 3 })).toThrow(/ENOSPC/);
    expect(s.hardState()).toEqual({ term: 1, vote: 1, commit: 2 });
    s.append(ents(4, 4, 2));
    s.setHardState({ term: 2, vote: 1, commit: 4 });
    s.sync();
    expect(segmentFiles(dir).length).toBeGreaterThan(before);
    s.close();
    s = new FileStorage(dir);
    expect(s.lastIndex()).toBe(4);
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 4 });
  });
});

describe('FileStorage record size', () => {
  const tempDir = tempDirEach('kici-raft-size-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  it('the largest entry data fills exactly the largest record the reader accepts', () => {
    const e: Entry = { index: 1, term: 1, type: 'normal', data: enc.encode('abc') };
    expect(entryPayload(e).length - e.data.length + MAX_ENTRY_DATA_BYTES).toBe(MAX_RECORD_BYTES);
  });

  it('an entry too big for a record is refused before anything is written', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 2, 1));
    s.sync();
    const before = bytesOnDisk(dir);
    const big: Entry = { index: 4, term: 1, type: 'normal', data: new Uint8Array(MAX_ENTRY_DATA_BYTES + 1) };
    let err: unknown;
    try {
      s.append([...ents(3, 3, 1), big]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StorageFailedError);
    expect((err as Error).message).toMatch(/entry 4 holds \d+ bytes, more than a log record holds/);
    expect(bytesOnDisk(dir)).toBe(before); // not even entry 3
    expect(s.lastIndex()).toBe(2);
    s.append(ents(3, 3, 1)); // the storage is fine
    s.close();
  });
});
