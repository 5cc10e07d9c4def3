/**
 * FileStorage across compactions and snapshot installs: what replays must be the live log, whichever
 * segments a compaction deleted or a crash kept.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileStorage, StorageFailedError, type Entry } from '../../../src/raft/index.js';
import { nodeDisk, type Disk } from '../../../src/raft/disk.js';
import { tempDirEach } from './temp-dir.js';
import { entriesOf } from './log-fixtures.js';

const conf = { voters: [1, 2, 3], learners: [] };
const enc = new TextEncoder();
const dec = new TextDecoder();

const ents = (from: number, to: number, term: number): Entry[] => entriesOf(from, to, term, (i) => `${i}@${term}`);

function text(e: Entry[]): string[] {
  return e.map((x) => `${x.index}@${x.term}:${dec.decode(x.data)}`);
}

function files(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

function restore(dir: string, state: Map<string, Buffer>): void {
  for (const n of fs.readdirSync(dir)) fs.rmSync(path.join(dir, n));
  for (const [n, b] of state) fs.writeFileSync(path.join(dir, n), b);
}

describe('FileStorage compaction', () => {
  const tempDir = tempDirEach('kici-raft-compact-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  /** Every batch in a segment of its own (segmentBytes 1), as in the outside review's repros. */
  function write(batches: Entry[][], commit: number, term: number, compactAt: number): void {
    const s = new FileStorage(dir, { conf, segmentBytes: 1 });
    for (const b of batches) s.append(b);
    s.setHardState({ term, vote: 0, commit });
    s.sync();
    s.compact(compactAt, enc.encode(`state@${compactAt}`), conf);
    s.close();
  }

  it('keeps fsynced entries when an older segment holds a stale entry at the snapshot index', () => {
    write([ents(1, 10, 1), ents(5, 8, 2), ents(9, 12, 2)], 12, 2, 8);
    const r = new FileStorage(dir);
    expect(r.snapshot().meta.index).toBe(8);
    expect(r.term(8)).toBe(2);
    expect(r.lastIndex()).toBe(12);
    expect(r.initialState().hardState.commit).toBe(12);
    expect(text(r.entries(9, 13))).toEqual(text(ents(9, 12, 2)));
    r.close();
  });

  it('deletes only a leading run of segments', () => {
    const s = new FileStorage(dir, { conf, segmentBytes: 1 });
    s.append(ents(1, 10, 1)); // segment 2 (segment 1 holds the first hard state only)
    s.append(ents(5, 8, 2)); // segment 3: all of it covered by a snapshot at 8
    s.append(ents(9, 12, 2)); // segment 4
    s.sync();
    s.compact(8, enc.encode('s'), conf);
    // Segment 2 still holds index 10, so neither it nor segment 3 behind it may go.
    expect([...files(dir).keys()].filter((n) => n.endsWith('.log')).map((n) => Number(n.slice(0, 16)))).toEqual([2, 3, 4]);
    s.close();
  });

  it('truncated entries stay truncated after compaction', () => {
    write([ents(1, 6, 1), ents(3, 4, 2), ents(3, 5, 1)], 5, 2, 5);
    const r = new FileStorage(dir);
    expect(r.lastIndex()).toBe(5); // entry 6@1 was superseded by the batch 3..5
    expect(r.term(5)).toBe(1);
    r.append(ents(6, 7, 3));
    r.sync();
    r.close();
    const again = new FileStorage(dir);
    expect(text(again.entries(6, 8))).toEqual(text(ents(6, 7, 3)));
    again.close();
  });

  it('the hard state survives compaction after a crash tore the head off the last segment', () => {
    const s = new FileStorage(dir, { conf, segmentBytes: 200 });
    s.append(ents(1, 3, 1));
    s.setHardState({ term: 4, vote: 2, commit: 3 });
    s.append(ents(4, 6, 1)); // segment 1 is full now
    s.sync();
    s.append(ents(7, 7, 1)); // opens segment 2 with the hard state, then entry 7
    s.close();
    // The crash came before segment 2 was synced: none of it reached the disk.
    const logs = [...files(dir).keys()].filter((n) => n.endsWith('.log')).sort();
    expect(logs).toHaveLength(2);
    fs.truncateSync(path.join(dir, logs[1]), 0);
    const r = new FileStorage(dir, { segmentBytes: 200 });
    expect(r.lastIndex()).toBe(6);
    r.append(ents(7, 8, 1));
    r.sync();
    r.compact(6, enc.encode('s6'), conf); // segment 1, the only one with a hard state, goes
    r.close();
    const again = new FileStorage(dir);
    expect(again.initialState().hardState).toEqual({ term: 4, vote: 2, commit: 3 });
    expect(again.lastIndex()).toBe(8);
    again.close();
  });

  it('any subset of the segments a compaction deletes may survive a crash', () => {
    write([ents(1, 8, 1), ents(5, 8, 2), ents(9, 12, 2)], 12, 2, 8);
    const after = files(dir);
    // Rebuild what was deleted: the same writes, without the compaction.
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'kici-raft-compact-'));
    try {
      const s = new FileStorage(other, { conf, segmentBytes: 1 });
      for (const b of [ents(1, 8, 1), ents(5, 8, 2), ents(9, 12, 2)]) s.append(b);
      s.setHardState({ term: 2, vote: 0, commit: 12 });
      s.sync();
      s.close();
      const deleted = [...files(other)].filter(([n]) => n.endsWith('.log') && !after.has(n));
      expect(deleted.length).toBeGreaterThanOrEqual(3);
      for (let mask = 0; mask < 1 << deleted.length; mask++) {
        const state = new Map(after);
        deleted.forEach(([n, b], k) => {
          if (mask & (1 << k)) state.set(n, b);
        });
        restore(dir, state);
        const r = new FileStorage(dir);
        expect({ mask, last: r.lastIndex(), commit: r.initialState().hardState.commit }).toEqual({ mask, last: 12, commit: 12 });
        expect(text(r.entries(9, 13))).toEqual(text(ents(9, 12, 2)));
        r.append(ents(13, 13, 3));
        r.sync();
        r.close();
        const again = new FileStorage(dir);
        expect(again.term(13)).toBe(3);
        again.close();
      }
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('FileStorage snapshot install cut short', () => {
  const tempDir = tempDirEach('kici-raft-install-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  /** A disk that "crashes" (throws) at the first operation `at` picks out, and keeps throwing. */
  function crashing(at: (op: string) => boolean): Disk {
    let crashed = false;
    const disk: Record<string, unknown> = { ...nodeDisk };
    for (const [op, fn] of Object.entries(nodeDisk)) {
      if (op === 'lock' || op === 'close') continue;
      disk[op] = (...args: unknown[]) => {
        if (crashed || at(op)) {
          crashed = true;
          throw new Error(`crash at ${op}`);
        }
        return (fn as (...a: unknown[]) => unknown)(...args);
      };
    }
    return disk as unknown as Disk;
  }

  function boot(disk: Disk): FileStorage {
    const s = new FileStorage(dir, { conf, disk });
    s.append(ents(1, 10, 1));
    s.setHardState({ term: 1, vote: 1, commit: 5 });
    s.sync();
    return s;
  }

  const leaderSnap = { meta: { index: 8, term: 2, conf }, data: enc.encode('s8') };

  it('after the snapshot file, before the RESET: the log is dropped, and appends after it survive', () => {
    let installing = false;
    let renamed = false;
    const s = boot(
      crashing((op) => {
        if (installing && op === 'rename') renamed = true;
        // The snapshot file is in place (and its directory synced): die before the log restarts.
        return renamed && op !== 'rename' && op !== 'fsyncDir';
      }),
    );
    installing = true;
    expect(() => s.applySnapshot(leaderSnap)).toThrow(StorageFailedError);
    s.close();
    const r = new FileStorage(dir);
    expect(r.snapshot().meta).toMatchObject({ index: 8, term: 2 });
    expect(r.lastIndex()).toBe(8); // 9..10@1 followed another entry 8
    expect(r.recovery.supersededEntries).toBe(2);
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 5 });
    r.append(ents(9, 11, 3));
    r.setHardState({ term: 3, vote: 1, commit: 11 });
    r.sync();
    r.close();
    const again = new FileStorage(dir);
    expect(again.lastIndex()).toBe(11);
    expect(text(again.entries(9, 12))).toEqual(text(ents(9, 11, 3)));
    again.close();
  });

  it('older segments that could not be removed after the RESET are read past', () => {
    const s = boot({
      ...nodeDisk,
      remove: () => {
        throw new Error('EACCES');
      },
    });
    s.applySnapshot(leaderSnap); // the old segment stays, as if a crash came before its removal
    s.append(ents(9, 9, 2));
    s.sync();
    s.close();
    const r = new FileStorage(dir);
    expect(r.firstIndex()).toBe(9);
    expect(r.lastIndex()).toBe(9);
    expect(r.term(9)).toBe(2);
    r.close();
  });
});

describe('FileStorage for a joining node', () => {
  it('keeps the configuration a bootstrap snapshot taught it across a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kici-raft-join-'));
    try {
      const s = new FileStorage(dir);
      expect(s.initialState().confState.voters).toEqual([]);
      s.applySnapshot({ meta: { index: 0, term: 0, conf: { voters: [1, 2], learners: [4], removed: [3] } }, data: new Uint8Array(0) });
      s.append([{ index: 1, term: 1, type: 'normal', data: new Uint8Array([1]) }]);
      s.close();
      const again = new FileStorage(dir);
      expect(again.initialState().confState).toEqual({ voters: [1, 2], learners: [4], removed: [3] });
      expect(again.lastIndex()).toBe(1);
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
