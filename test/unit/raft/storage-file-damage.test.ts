/**
 * FileStorage on a damaged directory: only a torn tail of the last segment is repaired; any other
 * damage, or a log that lost committed entries, refuses to start and leaves the files as they are.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileStorage, StorageFailedError, type Entry } from '../../../src/raft/index.js';
import { tempDirEach } from './temp-dir.js';
import { entriesOf, segmentFiles } from './log-fixtures.js';

const conf = { voters: [1, 2, 3], learners: [] };

const ents = (from: number, to: number, term: number): Entry[] => entriesOf(from, to, term, (i) => `${i}`);


/** Frame sizes as written (record.ts): 8-byte header; a hard state is 25 bytes, an entry 18 + data. */
const HARD_STATE_RECORD = 8 + 25;
const entryRecord = (i: number) => 8 + 18 + String(i).length;

describe('FileStorage on a damaged directory', () => {
  const tempDir = tempDirEach('kici-raft-damage-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  /** One segment: the first hard state, entries 1..10 one record each, then {7, 2, 9}. */
  function written(): string {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 10, 7));
    s.setHardState({ term: 7, vote: 2, commit: 9 });
    s.sync();
    s.close();
    const [seg] = segmentFiles(dir);
    return seg;
  }

  it('a flipped byte in an old record refuses to start rather than forget term and vote', () => {
    const seg = written();
    const good = fs.readFileSync(seg);
    const at = HARD_STATE_RECORD + entryRecord(1); // the record of entry 2
    const bad = Buffer.from(good);
    bad[at + 20] ^= 0x01; // inside its payload: the checksum fails
    fs.writeFileSync(seg, bad);
    expect(() => new FileStorage(dir)).toThrow(StorageFailedError);
    expect(() => new FileStorage(dir)).toThrow(`${seg} is damaged at byte ${at} (an intact record follows at byte `);
    expect(fs.readFileSync(seg)).toEqual(bad); // nothing cut: an operator can still repair it
    fs.writeFileSync(seg, good);
    const r = new FileStorage(dir);
    expect(r.initialState().hardState).toEqual({ term: 7, vote: 2, commit: 9 });
    r.close();
  });

  it('a damaged length field in the middle of a file refuses to start', () => {
    const seg = written();
    const buf = fs.readFileSync(seg);
    const at = HARD_STATE_RECORD + entryRecord(1) + entryRecord(2); // the record of entry 3
    buf.writeUInt32LE(0x7fffffff, at);
    fs.writeFileSync(seg, buf);
    expect(() => new FileStorage(dir)).toThrow(`is damaged at byte ${at}`);
  });

  it('zeros after the last record (a crash after the file grew) are a torn tail', () => {
    const seg = written();
    const size = fs.statSync(seg).size;
    fs.appendFileSync(seg, Buffer.alloc(4096));
    const r = new FileStorage(dir);
    expect(r.lastIndex()).toBe(10);
    expect(r.initialState().hardState).toEqual({ term: 7, vote: 2, commit: 9 });
    expect(r.recovery.truncatedBytes).toBe(4096);
    expect(fs.statSync(seg).size).toBe(size);
    r.close();
  });

  it('a stored commit above the last index refuses to start', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 10, 1));
    s.setHardState({ term: 1, vote: 1, commit: 10 });
    s.append(ents(6, 6, 2)); // as if entries 7..10 had been lost
    s.sync();
    s.close();
    expect(() => new FileStorage(dir)).toThrow(StorageFailedError);
    expect(() => new FileStorage(dir)).toThrow(/commits index 10 but the log ends at 6/);
  });

  it('a refused directory is not left locked', () => {
    written();
    const [seg] = segmentFiles(dir);
    const buf = fs.readFileSync(seg);
    buf[HARD_STATE_RECORD + 20] ^= 0x01;
    fs.writeFileSync(seg, buf);
    expect(() => new FileStorage(dir)).toThrow(StorageFailedError);
    expect(fs.existsSync(path.join(dir, 'lock'))).toBe(false);
  });
});
