import { describe, it, expect, beforeEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompactedError, FileStorage, StorageFailedError, type Entry } from '../../../src/raft/index.js';
import { tempDirEach } from './temp-dir.js';
import { entriesOf, segmentFiles } from './log-fixtures.js';

const conf = { voters: [1, 2, 3], learners: [] };
const enc = new TextEncoder();

const ents = (from: number, to: number, term: number, tag = ''): Entry[] => entriesOf(from, to, term, (i) => `${tag}${i}`);

function text(e: Entry[]): string[] {
  return e.map((x) => `${x.index}@${x.term}:${new TextDecoder().decode(x.data)}`);
}


describe('FileStorage', () => {
  const tempDir = tempDirEach('kici-raft-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  it('starts empty with the given membership', () => {
    const s = new FileStorage(dir, { conf });
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: { voters: [1, 2, 3], learners: [], removed: [] },
    });
    s.close();
    // The membership is on disk: a reopen without options still knows it.
    const again = new FileStorage(dir);
    expect(again.initialState().confState.voters).toEqual([1, 2, 3]);
    again.close();
  });

  it('reloads appended entries and the latest hard state', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 5, 1));
    s.setHardState({ term: 1, vote: 2, commit: 3 });
    s.append(ents(6, 7, 2));
    s.setHardState({ term: 2, vote: 0, commit: 6 });
    s.sync();
    s.close();
    const r = new FileStorage(dir);
    expect(r.lastIndex()).toBe(7);
    expect(text(r.entries(1, 8))).toEqual(text([...ents(1, 5, 1), ...ents(6, 7, 2)]));
    expect(r.term(6)).toBe(2);
    expect(r.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 6 });
    expect(r.recovery.truncatedBytes).toBe(0);
    r.close();
  });

  it('an append at an existing index replaces the conflicting suffix, also after reload', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 6, 1, 'old'));
    s.append(ents(4, 5, 2, 'new'));
    expect(s.lastIndex()).toBe(5);
    s.sync();
    s.close();
    const r = new FileStorage(dir);
    expect(r.lastIndex()).toBe(5);
    expect(text(r.entries(3, 6))).toEqual(['3@1:old3', '4@2:new4', '5@2:new5']);
    r.close();
  });

  it('rotates segments and compaction drops the old ones; snapshot survives reload', () => {
    const s = new FileStorage(dir, { conf, segmentBytes: 300 });
    for (let i = 1; i <= 40; i += 5) s.append(ents(i, i + 4, 1));
    s.sync();
    const before = segmentFiles(dir).length;
    expect(before).toBeGreaterThan(3);
    s.compact(30, enc.encode('state@30'), { voters: [1, 2], learners: [], removed: [3] });
    expect(segmentFiles(dir).length).toBeLessThan(before);
    expect(() => s.entries(30, 31)).toThrow(CompactedError);
    expect(s.term(30)).toBe(1);
    s.setHardState({ term: 1, vote: 1, commit: 40 });
    s.sync();
    s.close();
    const r = new FileStorage(dir, { conf });
    expect(r.firstIndex()).toBe(31);
    expect(r.lastIndex()).toBe(40);
    expect(r.snapshot().meta).toEqual({ index: 30, term: 1, conf: { voters: [1, 2], learners: [], removed: [3] } });
    expect(new TextDecoder().decode(r.snapshot().data)).toBe('state@30');
    expect(r.initialState().confState.voters).toEqual([1, 2]);
    expect(r.initialState().hardState.commit).toBe(40);
    expect(text(r.entries(31, 41))).toEqual(text(ents(31, 40, 1)));
    r.close();
  });

  it('applying a leader snapshot replaces the log, also after reload', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 10, 1));
    s.sync();
    s.applySnapshot({ meta: { index: 50, term: 3, conf }, data: enc.encode('big') });
    s.append(ents(51, 52, 3));
    s.setHardState({ term: 3, vote: 0, commit: 50 });
    s.sync();
    s.close();
    const r = new FileStorage(dir);
    expect(r.firstIndex()).toBe(51);
    expect(r.lastIndex()).toBe(52);
    expect(r.term(50)).toBe(3);
    expect(segmentFiles(dir)).toHaveLength(1);
    r.close();
  });

  describe('torn and corrupt tails', () => {
    function written(): number {
      const s = new FileStorage(dir, { conf });
      s.append(ents(1, 5, 1));
      s.setHardState({ term: 1, vote: 1, commit: 4 });
      s.append(ents(6, 8, 1));
      s.sync();
      s.close();
      const [seg] = segmentFiles(dir);
      return fs.statSync(seg).size;
    }

    it('a file cut mid-record loses only that record', () => {
      const size = written();
      const [seg] = segmentFiles(dir);
      fs.truncateSync(seg, size - 3);
      const r = new FileStorage(dir);
      expect(r.lastIndex()).toBe(7);
      expect(r.initialState().hardState.commit).toBe(4);
      expect(r.recovery.truncatedBytes).toBeGreaterThan(0);
      expect(fs.statSync(seg).size).toBeLessThan(size - 3);
      // It keeps working: new appends land after the cut and survive another reload.
      r.append(ents(8, 9, 2));
      r.sync();
      r.close();
      const again = new FileStorage(dir);
      expect(again.lastIndex()).toBe(9);
      expect(again.term(9)).toBe(2);
      expect(again.recovery.truncatedBytes).toBe(0);
      again.close();
    });

    it('garbage appended after the last record is cut off', () => {
      const size = written();
      const [seg] = segmentFiles(dir);
      fs.appendFileSync(seg, Buffer.from([0x13, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
      const r = new FileStorage(dir);
      expect(r.lastIndex()).toBe(8);
      expect(r.recovery.truncatedBytes).toBe(11);
      expect(fs.statSync(seg).size).toBe(size);
      r.close();
    });

    it('a flipped byte in the last record fails its checksum', () => {
      const size = written();
      const [seg] = segmentFiles(dir);
      const buf = fs.readFileSync(seg);
      buf[size - 2] ^= 0x40;
      fs.writeFileSync(seg, buf);
      const r = new FileStorage(dir);
      expect(r.lastIndex()).toBe(7);
      expect(r.recovery.truncatedBytes).toBeGreaterThan(0);
      r.close();
    });

    it('a corrupt length field does not make it read past the file', () => {
      written();
      const [seg] = segmentFiles(dir);
      fs.appendFileSync(seg, Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]));
      const r = new FileStorage(dir);
      expect(r.lastIndex()).toBe(8);
      r.close();
    });

    it('a crash at any byte of the last batch reopens to a clean prefix', () => {
      const s = new FileStorage(dir, { conf });
      s.append(ents(1, 3, 1));
      s.setHardState({ term: 1, vote: 1, commit: 2 });
      s.sync();
      s.close();
      const [seg] = segmentFiles(dir);
      const before = fs.statSync(seg).size;
      const t = new FileStorage(dir);
      t.append(ents(4, 6, 2, 'x'));
      t.setHardState({ term: 2, vote: 1, commit: 5 });
      t.sync();
      t.close();
      const full = fs.readFileSync(seg);
      for (let cut = before; cut <= full.length; cut++) {
        fs.writeFileSync(seg, full.subarray(0, cut));
        const r = new FileStorage(dir);
        const last = r.lastIndex();
        expect(last).toBeGreaterThanOrEqual(3);
        expect(last).toBeLessThanOrEqual(6);
        expect(r.term(3)).toBe(1);
        if (last > 3) expect(r.term(last)).toBe(2);
        const hs = r.initialState().hardState;
        expect(hs.commit).toBe(cut === full.length ? 5 : 2);
        r.close();
      }
    });

    it('corruption in an older segment refuses to start and changes nothing', () => {
      const s = new FileStorage(dir, { conf, segmentBytes: 200 });
      for (let i = 1; i <= 30; i += 3) s.append(ents(i, i + 2, 1));
      s.sync();
      s.close();
      const segs = segmentFiles(dir);
      expect(segs.length).toBeGreaterThan(2);
      const buf = fs.readFileSync(segs[1]);
      buf[buf.length - 1] ^= 0xff;
      fs.writeFileSync(segs[1], buf);
      const before = segs.map((f) => fs.readFileSync(f));
      // Only the last segment can end in a torn write; cutting here would drop fsynced records.
      expect(() => new FileStorage(dir)).toThrow(StorageFailedError);
      expect(() => new FileStorage(dir)).toThrow(`${segs[1]} is damaged at byte`);
      expect(segmentFiles(dir).map((f) => fs.readFileSync(f))).toEqual(before);
    });
  });

  it('a crash between writing and renaming a snapshot keeps the previous one', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 10, 1));
    s.compact(5, enc.encode('state@5'), conf);
    s.sync();
    s.close();
    // The next snapshot was being written when the process died: only the temp file exists.
    fs.writeFileSync(path.join(dir, 'snapshot.bin.tmp'), Buffer.from('half a snapsh'));
    const r = new FileStorage(dir);
    expect(r.recovery.discardedTempSnapshot).toBe(true);
    expect(fs.existsSync(path.join(dir, 'snapshot.bin.tmp'))).toBe(false);
    expect(r.snapshot().meta.index).toBe(5);
    expect(new TextDecoder().decode(r.snapshot().data)).toBe('state@5');
    expect(r.firstIndex()).toBe(6);
    expect(r.lastIndex()).toBe(10);
    r.close();
  });

  it('a crash after a leader snapshot was renamed but before the log restarted drops a disagreeing log', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 10, 1));
    s.sync();
    s.close();
    // Simulate: a snapshot at index 8 of term 2 became durable, the segment reset did not.
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'kici-raft-snap-'));
    const t = new FileStorage(other, { conf });
    t.append([...ents(1, 5, 1), ...ents(6, 8, 2)]);
    t.compact(8, enc.encode('s8'), conf);
    t.close();
    fs.copyFileSync(path.join(other, 'snapshot.bin'), path.join(dir, 'snapshot.bin'));
    fs.rmSync(other, { recursive: true, force: true });
    const r = new FileStorage(dir);
    expect(r.snapshot().meta.index).toBe(8);
    expect(r.lastIndex()).toBe(8); // entries 9..10 of term 1 followed a different entry 8
    expect(r.recovery.supersededEntries).toBe(2);
    // What is appended after the snapshot is ours, also after another reload.
    r.append(ents(9, 10, 3));
    r.sync();
    r.close();
    const again = new FileStorage(dir);
    expect(again.lastIndex()).toBe(10);
    expect(again.term(10)).toBe(3);
    again.close();
  });

  it('refuses a directory held by another live process, takes over a dead one', () => {
    fs.writeFileSync(path.join(dir, 'lock'), String(process.ppid));
    expect(() => new FileStorage(dir, { conf })).toThrow(/in use by process/);
    fs.writeFileSync(path.join(dir, 'lock'), '999999999');
    const s = new FileStorage(dir, { conf });
    expect(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    s.close();
    expect(fs.existsSync(path.join(dir, 'lock'))).toBe(false);
  });

  it('refuses entries that leave a gap', () => {
    const s = new FileStorage(dir, { conf });
    s.append(ents(1, 2, 1));
    expect(() => s.append(ents(4, 5, 1))).toThrow(/gap/);
    s.close();
  });
});
