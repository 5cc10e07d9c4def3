import { describe, it, expect } from 'vitest';
import { Inflights } from '../../../src/raft/inflights.js';
import { Progress } from '../../../src/raft/progress.js';
import { committedIndex, voteResult } from '../../../src/raft/quorum.js';
import { RaftLog } from '../../../src/raft/log.js';
import { applyChange, emptyConf } from '../../../src/raft/membership.js';
import { crc32 } from '../../../src/raft/crc32.js';
import { CompactedError, MemoryStorage, decodeConfChange, encodeConfChange, type Entry } from '../../../src/raft/index.js';

function ents(from: number, terms: number[]): Entry[] {
  return terms.map((term, k) => ({ index: from + k, term, type: 'normal', data: new Uint8Array([from + k]) }));
}

describe('Inflights', () => {
  it('fills up, frees up to an index, and wraps around', () => {
    const f = new Inflights(3);
    f.add(5);
    f.add(7);
    f.add(9);
    expect(f.full()).toBe(true);
    expect(() => f.add(10)).toThrow();
    f.freeLE(7);
    expect(f.count).toBe(1);
    f.add(11);
    f.add(13);
    expect(f.full()).toBe(true);
    f.freeFirstOne();
    expect(f.count).toBe(2);
    f.freeLE(100);
    expect(f.count).toBe(0);
  });
});

describe('Progress', () => {
  it('probe sends one at a time; a stale rejection is ignored; replicate backs off to match', () => {
    const p = new Progress(11, 4, false);
    p.sentEntries(0, 10);
    expect(p.isPaused()).toBe(true);
    expect(p.maybeDecrTo(5, 3)).toBe(false); // answers an older probe
    expect(p.maybeDecrTo(10, 3)).toBe(true);
    expect(p.next).toBe(4);
    expect(p.isPaused()).toBe(false);
    expect(p.maybeUpdate(8)).toBe(true);
    p.becomeReplicate();
    expect(p.next).toBe(9);
    p.sentEntries(3, 11);
    expect(p.next).toBe(12);
    expect(p.maybeDecrTo(7, 0)).toBe(false); // at or below match
    expect(p.maybeDecrTo(11, 0)).toBe(true);
    expect(p.next).toBe(9);
  });
});

describe('quorum', () => {
  it('commits the index a majority holds', () => {
    const m = new Map([
      [1, 10],
      [2, 7],
      [3, 3],
    ]);
    expect(committedIndex([1, 2, 3], (id) => m.get(id) ?? 0)).toBe(7);
    m.set(4, 9);
    m.set(5, 2);
    expect(committedIndex([1, 2, 3, 4, 5], (id) => m.get(id) ?? 0)).toBe(7);
    expect(committedIndex([1, 2, 3, 4], (id) => m.get(id) ?? 0)).toBe(7);
  });

  it('tallies votes', () => {
    const v = new Map<number, boolean>([[1, true]]);
    expect(voteResult([1, 2, 3], v)).toBe('pending');
    v.set(2, false);
    expect(voteResult([1, 2, 3], v)).toBe('pending');
    v.set(3, true);
    expect(voteResult([1, 2, 3], v)).toBe('won');
    expect(voteResult([1, 2, 3], new Map([[1, false], [2, false]]))).toBe('lost');
    expect(voteResult([1], new Map([[1, true]]))).toBe('won');
  });
});

describe('RaftLog', () => {
  it('layers unstable entries over storage and truncates conflicts', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2]));
    const log = new RaftLog(s);
    expect(log.lastIndex()).toBe(3);
    log.append(ents(4, [2, 2]));
    expect(log.lastIndex()).toBe(5);
    expect(log.term(5)).toBe(2);
    expect(log.term(6)).toBeUndefined();
    // A conflicting append at 3 replaces stable and unstable entries from there on.
    expect(log.maybeAppend(2, 1, 0, ents(3, [3]))).toBe(3);
    expect(log.lastIndex()).toBe(3);
    expect(log.term(3)).toBe(3);
    expect(log.slice(1, 4)?.map((e) => e.term)).toEqual([1, 1, 3]);
    expect(log.maybeAppend(3, 2, 0, [])).toBeUndefined();
  });

  it('finds the last index whose term is at most a given term', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 2, 2, 4, 4, 4]));
    const log = new RaftLog(s);
    expect(log.findConflictByTerm(6, 3)).toEqual({ index: 3, term: 2 });
    expect(log.findConflictByTerm(6, 4)).toEqual({ index: 6, term: 4 });
    expect(log.findConflictByTerm(6, 0)).toEqual({ index: 0, term: 0 });
  });

  it('refuses to overwrite committed entries and commits only its term', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2]));
    const log = new RaftLog(s);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 2, ents(2, [5]))).toThrow(/committed/);
    expect(log.maybeCommit(3, 3)).toBe(false);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
  });

  it('reports compacted ranges as unavailable', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1, 1]));
    s.compact(2, new Uint8Array(), { voters: [1], learners: [] });
    const log = new RaftLog(s);
    expect(log.term(1)).toBeUndefined();
    expect(log.term(2)).toBe(1);
    expect(log.slice(2, 4)).toBeUndefined();
    expect(log.slice(3, 5)?.length).toBe(2);
  });
});

describe('MemoryStorage', () => {
  it('compacts, throws CompactedError below the snapshot, and truncates conflicting appends', () => {
    const s = new MemoryStorage({ voters: [1], learners: [] });
    s.append(ents(1, [1, 1, 1, 2]));
    s.compact(2, new Uint8Array([9]), { voters: [1], learners: [] });
    expect(s.firstIndex()).toBe(3);
    expect(() => s.entries(2, 3)).toThrow(CompactedError);
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(s.term(2)).toBe(1);
    s.append(ents(4, [3]));
    expect(s.lastIndex()).toBe(4);
    expect(s.term(4)).toBe(3);
    s.applySnapshot({ meta: { index: 10, term: 4, conf: { voters: [1], learners: [] } }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 4]);
  });
});

describe('membership', () => {
  it('encodes and decodes conf changes and rejects garbage', () => {
    const cc = { type: 'add_learner' as const, node: 7, context: 'ws://n7' };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    expect(decodeConfChange(encodeConfChange({ type: 'remove', node: 2 }))).toEqual({ type: 'remove', node: 2 });
    expect(() => decodeConfChange(new TextEncoder().encode('{"type":"drop","node":1}'))).toThrow();
    expect(() => decodeConfChange(new TextEncoder().encode('{"type":"remove","node":-1}'))).toThrow();
    expect(() => decodeConfChange(new Uint8Array([0xff]))).toThrow();
  });

  it('applies changes and keeps removed ids out for good', () => {
    let c = { ...emptyConf(), voters: [1, 2, 3] };
    c = applyChange(c, { type: 'add_learner', node: 4 });
    c = applyChange(c, { type: 'promote', node: 4 });
    expect(c.voters).toEqual([1, 2, 3, 4]);
    c = applyChange(c, { type: 'remove', node: 2 });
    expect(c.voters).toEqual([1, 3, 4]);
    expect(applyChange(c, { type: 'add_voter', node: 2 }).voters).toEqual([1, 3, 4]);
    expect(applyChange({ ...emptyConf(), voters: [1] }, { type: 'remove', node: 1 }).voters).toEqual([1]);
  });
});

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
