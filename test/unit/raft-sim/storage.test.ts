import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import { CompactedError } from '../../../src/raft/types.js';
import { SimStorage } from '../../../src/raft/sim/index.js';

const conf = { voters: [1, 2, 3], learners: [] };
const ent = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});

describe('simulated storage (fsync model)', () => {
  it('a crash keeps only what was synced', () => {
    const s = new SimStorage(conf);
    s.append([ent(1, 1), ent(2, 1)]);
    s.setHardState({ term: 1, vote: 2, commit: 1 });
    s.sync();
    s.append([ent(3, 1)]);
    s.setHardState({ term: 2, vote: 3, commit: 2 });
    expect(s.unsyncedRecords()).toBe(2);
    const after = s.durableImage();
    expect(after.lastIndex()).toBe(2);
    expect(after.hardState()).toEqual({ term: 1, vote: 2, commit: 1 });
    expect(after.initialState().confState.voters).toEqual([1, 2, 3]);
    // The live storage still has everything written.
    expect(s.lastIndex()).toBe(3);
  });

  it('a crash before any sync leaves the bootstrap state only', () => {
    const s = new SimStorage(conf);
    s.append([ent(1, 1)]);
    s.setHardState({ term: 5, vote: 1, commit: 0 });
    const after = s.durableImage();
    expect(after.lastIndex()).toBe(0);
    expect(after.hardState().term).toBe(0);
  });

  it('append truncates a conflicting tail, and the truncation is durable after sync', () => {
    const s = new SimStorage(conf);
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.sync();
    s.append([ent(2, 2, 'x')]);
    s.sync();
    const after = s.durableImage();
    expect(after.lastIndex()).toBe(2);
    expect(after.term(2)).toBe(2);
    expect(new TextDecoder().decode(after.entries(2, 3)[0].data)).toBe('x');
  });

  it('compaction keeps a snapshot and survives a crash once synced', () => {
    const s = new SimStorage(conf);
    s.append([1, 2, 3, 4, 5].map((i) => ent(i, 1)));
    s.sync();
    s.compact(3, new Uint8Array([9]), conf);
    expect(s.firstIndex()).toBe(4);
    expect(() => s.entries(3, 4)).toThrow(CompactedError);
    expect(s.term(3)).toBe(1);
    expect(s.durableImage().firstIndex()).toBe(1); // compaction not yet synced
    s.sync();
    const after = s.durableImage();
    expect(after.firstIndex()).toBe(4);
    expect(after.snapshot().meta.index).toBe(3);
    expect(Array.from(after.snapshot().data)).toEqual([9]);
  });

  it('folds a long write-ahead log without changing what a crash recovers', () => {
    const s = new SimStorage(conf);
    for (let i = 1; i <= 600; i++) {
      s.append([ent(i, 1 + Math.floor(i / 100))]);
      s.setHardState({ term: 1 + Math.floor(i / 100), vote: 1, commit: i - 1 });
      s.sync();
    }
    s.append([ent(601, 7)]);
    const after = s.durableImage();
    expect(after.lastIndex()).toBe(600);
    expect(after.term(600)).toBe(7);
    expect(after.hardState().commit).toBe(599);
    expect(after.entries(1, 601)).toHaveLength(600);
  });
});
