/**
 * The group commit's own rules, with a flush that records what it was handed: writes that come
 * together leave together, a lone write leaves alone and at once, a row never appears twice in a
 * batch, at most `maxInFlight` batches are out, and a batch that fails whole is retried write by
 * write so one bad write fails alone.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../src/store/group-commit.js';

interface Write {
  row: string;
  value: number;
}

/** A flush that parks each batch until the test releases it. */
class Database {
  readonly batches: Write[][] = [];
  readonly singles: Write[] = [];
  private readonly parked: (() => void)[] = [];
  failBatches = false;
  failRow: string | undefined;

  readonly group = (maxInFlight = 2, loneAtOnce = false) =>
    new GroupCommit<Write, string>({
      loneAtOnce,
      flush: async (writes) => {
        this.batches.push([...writes]);
        await new Promise<void>((release) => this.parked.push(release));
        if (this.failBatches) throw new Error('deadlock detected');
        return writes.map((w) => `${w.row}=${w.value}`);
      },
      single: async (w) => {
        this.singles.push(w);
        if (w.row === this.failRow) throw new Error(`bad row ${w.row}`);
        return `${w.row}=${w.value}`;
      },
      // `a+b` writes rows a and b.
      keyOf: (w) => (w.row.includes('+') ? w.row.split('+') : w.row),
      maxInFlight,
    });

  releaseAll(): void {
    for (const release of this.parked.splice(0)) release();
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('sends a lone write alone, at once, through the single path', async () => {
    const db = new Database();
    const group = db.group();
    await expect(group.submit({ row: 'a', value: 1 })).resolves.toBe('a=1');
    expect(db.singles).toEqual([{ row: 'a', value: 1 }]);
    expect(db.batches).toEqual([]);
  });

  it('sends writes submitted together in one batch, each resolving with its own outcome', async () => {
    const db = new Database();
    const group = db.group();
    const pending = ['a', 'b', 'c'].map((row, i) => group.submit({ row, value: i }));
    await turn();
    expect(db.batches).toEqual([[{ row: 'a', value: 0 }, { row: 'b', value: 1 }, { row: 'c', value: 2 }]]);
    db.releaseAll();
    await expect(Promise.all(pending)).resolves.toEqual(['a=0', 'b=1', 'c=2']);
    expect(group.counts()).toEqual({ batches: 1, writes: 3, retriedAlone: 0 });
  });

  it('never puts one row twice in a batch: the second write of it waits for the next', async () => {
    const db = new Database();
    const group = db.group(1);
    const pending = [group.submit({ row: 'a', value: 1 }), group.submit({ row: 'b', value: 1 }), group.submit({ row: 'a', value: 2 })];
    await turn();
    expect(db.batches).toEqual([[{ row: 'a', value: 1 }, { row: 'b', value: 1 }]]);
    db.releaseAll();
    await expect(Promise.all(pending)).resolves.toEqual(['a=1', 'b=1', 'a=2']);
    expect(db.singles).toEqual([{ row: 'a', value: 2 }]);
  });

  it('with loneAtOnce, a write that finds nothing out leaves before the turn ends; what follows it gathers', async () => {
    const db = new Database();
    const group = db.group(1, true);
    const first = group.submit({ row: 'a', value: 1 });
    expect(db.singles).toEqual([{ row: 'a', value: 1 }]);
    const more = [group.submit({ row: 'b', value: 1 }), group.submit({ row: 'c', value: 1 })];
    await first;
    while (db.batches.length < 1) await turn();
    expect(db.batches).toEqual([[{ row: 'b', value: 1 }, { row: 'c', value: 1 }]]);
    db.releaseAll();
    await expect(Promise.all(more)).resolves.toEqual(['b=1', 'c=1']);
  });

  it('keeps a write on several rows apart from every other write of any of them', async () => {
    const db = new Database();
    const group = db.group(1);
    const pending = [group.submit({ row: 'a+b', value: 1 }), group.submit({ row: 'b', value: 1 }), group.submit({ row: 'c', value: 1 }), group.submit({ row: 'a', value: 2 })];
    await turn();
    expect(db.batches).toEqual([[{ row: 'a+b', value: 1 }, { row: 'c', value: 1 }]]);
    db.releaseAll();
    // b and a were both held back by a+b; once it is written they leave together.
    while (db.batches.length < 2) await turn();
    expect(db.batches[1]).toEqual([{ row: 'b', value: 1 }, { row: 'a', value: 2 }]);
    db.releaseAll();
    await expect(Promise.all(pending)).resolves.toEqual(['a+b=1', 'b=1', 'c=1', 'a=2']);
  });

  it('keeps at most maxInFlight batches out; what comes meanwhile gathers and leaves together', async () => {
    const db = new Database();
    const group = db.group(1);
    const first = [group.submit({ row: 'a', value: 1 }), group.submit({ row: 'b', value: 1 })];
    await turn();
    const later = ['c', 'd', 'e'].map((row) => group.submit({ row, value: 2 }));
    await turn();
    expect(db.batches).toHaveLength(1);
    db.releaseAll();
    await Promise.all(first);
    await turn();
    expect(db.batches.map((b) => b.map((w) => w.row))).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    db.releaseAll();
    await expect(Promise.all(later)).resolves.toEqual(['c=2', 'd=2', 'e=2']);
  });

  it('retries a batch that failed whole write by write: the bad write fails alone', async () => {
    const db = new Database();
    const group = db.group();
    db.failBatches = true;
    db.failRow = 'b';
    const pending = ['a', 'b', 'c'].map((row) => group.submit({ row, value: 7 }).catch((e: Error) => e.message));
    await turn();
    db.releaseAll();
    await expect(Promise.all(pending)).resolves.toEqual(['a=7', 'bad row b', 'c=7']);
    expect(db.singles.map((w) => w.row)).toEqual(['a', 'b', 'c']);
    expect(group.counts().retriedAlone).toBe(1);
  });

  it('lands a row\'s writes one after the other: a later write of a row waits while an earlier one is out', async () => {
    const db = new Database();
    const group = db.group(2);
    const first = group.submit({ row: 'a', value: 1 });
    const other = group.submit({ row: 'b', value: 1 });
    await turn();
    const second = group.submit({ row: 'a', value: 2 });
    const third = group.submit({ row: 'c', value: 2 });
    await turn();
    // The second batch is free to go, but without row a: its earlier write is still out.
    expect(db.batches.map((b) => b.map((w) => `${w.row}${w.value}`))).toEqual([['a1', 'b1']]);
    expect(db.singles.map((w) => `${w.row}${w.value}`)).toEqual(['c2']);
    db.releaseAll();
    await expect(Promise.all([first, other, third])).resolves.toEqual(['a=1', 'b=1', 'c=2']);
    await expect(second).resolves.toBe('a=2');
    expect(db.singles.map((w) => `${w.row}${w.value}`)).toEqual(['c2', 'a2']);
  });

  it('settles every write of a failed batch even when the lone path throws before it returns a promise', async () => {
    const group = new GroupCommit<Write, string>({
      flush: () => Promise.reject(new Error('batch refused')),
      single: (w) => {
        if (w.row === 'bad') throw new Error('cannot even start');
        return Promise.resolve(`${w.row}=${w.value}`);
      },
      keyOf: (w) => w.row,
    });
    const pending = ['a', 'bad', 'c'].map((row) => group.submit({ row, value: 1 }).catch((e: Error) => e.message));
    await expect(Promise.all(pending)).resolves.toEqual(['a=1', 'cannot even start', 'c=1']);
  });
});
