import { describe, expect, it } from 'vitest';
import { SimDisk, SimRandom } from '../../../src/raft/sim/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function fresh(seed = 1): SimDisk {
  const d = new SimDisk(new SimRandom(seed));
  d.mkdirp('/raft');
  return d;
}

describe('simulated disk', () => {
  it('keeps synced data and synced names across a crash', () => {
    const d = fresh();
    const h = d.openAppend('/raft/a.log');
    d.write(h, b('hello'));
    d.fsync(h);
    d.fsyncDir('/raft');
    d.crash();
    expect(d.list('/raft')).toEqual(['a.log']);
    expect(d.readFile('/raft/a.log').toString()).toBe('hello');
    expect(() => d.write(h, b('x'))).toThrow(/EBADF/);
  });

  it('a file whose creation was never fsyncDir-ed may vanish; one that was, stays', () => {
    let vanished = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const d = fresh(seed);
      const h = d.openAppend('/raft/a.log');
      d.write(h, b('data'));
      d.fsync(h);
      d.crash();
      if (!d.exists('/raft/a.log')) vanished++;
    }
    expect(vanished).toBeGreaterThan(5);
    expect(vanished).toBeLessThan(40);
  });

  it('tears the unsynced tail at a random point: always a prefix of what was written', () => {
    const lengths = new Set<number>();
    let garbage = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const d = fresh(seed);
      const h = d.openAppend('/raft/a.log');
      d.fsyncDir('/raft');
      d.write(h, b('durable|'));
      d.fsync(h);
      d.write(h, b('0123456789'));
      d.crash();
      const got = d.readFile('/raft/a.log');
      expect(got.subarray(0, 8).toString()).toBe('durable|');
      const rest = got.subarray(8).toString('latin1');
      const torn = '0123456789';
      let k = 0;
      while (k < rest.length && k < torn.length && rest[k] === torn[k]) k++;
      lengths.add(k);
      if (rest.length > k) garbage++;
      // Garbage only ever follows a torn prefix, never replaces durable bytes.
      expect(rest.length - k).toBeLessThanOrEqual(16);
    }
    expect(lengths.size).toBeGreaterThan(5);
    expect(lengths.has(0)).toBe(true);
    expect(lengths.has(10)).toBe(true);
    expect(garbage).toBeGreaterThan(0);
  });

  it('an unsynced rename is all or nothing; a synced one is durable', () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const d = fresh(seed);
      const old = d.openTruncate('/raft/snap');
      d.write(old, b('old'));
      d.fsync(old);
      d.fsyncDir('/raft');
      const tmp = d.openTruncate('/raft/snap.tmp');
      d.write(tmp, b('new'));
      d.fsync(tmp);
      d.rename('/raft/snap.tmp', '/raft/snap');
      d.crash();
      const text = d.readFile('/raft/snap').toString();
      outcomes.add(text);
      // Once the rename survived, the temporary name is gone with it (its creation may be lost too).
      if (text === 'new') expect(d.exists('/raft/snap.tmp')).toBe(false);
    }
    expect([...outcomes].sort()).toEqual(['new', 'old']);
    const d = fresh();
    const tmp = d.openTruncate('/raft/snap.tmp');
    d.write(tmp, b('new'));
    d.fsync(tmp);
    d.rename('/raft/snap.tmp', '/raft/snap');
    d.fsyncDir('/raft');
    d.crash();
    expect(d.readFile('/raft/snap').toString()).toBe('new');
  });

  it('an unsynced removal may be undone by a crash', () => {
    const kept = new Set<boolean>();
    for (let seed = 1; seed <= 30; seed++) {
      const d = fresh(seed);
      const h = d.openAppend('/raft/old.log');
      d.write(h, b('x'));
      d.fsync(h);
      d.fsyncDir('/raft');
      d.remove('/raft/old.log');
      expect(d.exists('/raft/old.log')).toBe(false);
      d.crash();
      kept.add(d.exists('/raft/old.log'));
    }
    expect([...kept].sort()).toEqual([false, true]);
  });

  it('an unsynced truncation of durable data is either kept or lost, never half', () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const d = fresh(seed);
      const h = d.openAppend('/raft/a.log');
      d.fsyncDir('/raft');
      d.write(h, b('abcdef'));
      d.fsync(h);
      d.truncateHandle(h, 2);
      expect(d.readFile('/raft/a.log').toString()).toBe('ab');
      d.crash();
      outcomes.add(d.readFile('/raft/a.log').toString());
    }
    expect([...outcomes].sort()).toEqual(['ab', 'abcdef']);
  });

  it('a full disk writes a prefix, then throws ENOSPC', () => {
    const d = fresh();
    const h = d.openAppend('/raft/a.log');
    d.write(h, b('ok'));
    d.full = true;
    expect(() => d.write(h, b('0123456789'))).toThrow(/ENOSPC/);
    const size = d.size(h);
    expect(size).toBeGreaterThanOrEqual(2);
    expect(size).toBeLessThan(12);
    expect(d.readFile('/raft/a.log').subarray(0, 2).toString()).toBe('ok');
    d.truncateHandle(h, 2); // the caller undoes the partial write
    d.full = false;
    d.write(h, b('!'));
    expect(d.readFile('/raft/a.log').toString()).toBe('ok!');
    expect(d.stats.failedWrites).toBe(1);
  });

  it('a failed fsync throws EIO and leaves the data undurable (sometimes gone at once)', () => {
    let dropped = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const d = fresh(seed);
      const h = d.openAppend('/raft/a.log');
      d.fsyncDir('/raft');
      d.write(h, b('unsynced'));
      d.failingSyncs = 1;
      expect(() => d.fsync(h)).toThrow(/EIO/);
      expect(d.durableBytes('/raft/a.log')?.length).toBe(0);
      if (d.size(h) === 0) dropped++;
      d.fsync(h); // the next one succeeds (on whatever is left)
    }
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(30);
  });

  it('flips one bit of durable data, which reads and crashes both see', () => {
    const d = fresh(3);
    const h = d.openAppend('/raft/a.log');
    d.fsyncDir('/raft');
    d.write(h, Buffer.alloc(64));
    d.fsync(h);
    d.write(h, Buffer.alloc(64)); // unsynced: never the target
    const at = d.flipBit();
    expect(at).not.toBeNull();
    expect(at?.file).toBe('/raft/a.log');
    expect(at?.offset).toBeLessThan(64);
    const ones = (buf: Buffer): number => [...buf].reduce((s, x) => s + (x.toString(2).split('1').length - 1), 0);
    expect(ones(d.readFile('/raft/a.log'))).toBe(1);
    d.crash();
    expect(ones(d.readFile('/raft/a.log'))).toBe(1);
    expect(fresh().flipBit()).toBeNull();
  });

  it('one holder per directory; a crash frees the lock', () => {
    const d = fresh();
    const release = d.lock('/raft');
    expect(() => d.lock('/raft')).toThrow(/locked/);
    release();
    d.lock('/raft');
    d.crash();
    expect(() => d.lock('/raft')).not.toThrow();
  });

  it('the same seed tears the same bytes', () => {
    const run = (): string => {
      const d = fresh(77);
      const h = d.openAppend('/raft/a.log');
      d.fsyncDir('/raft');
      for (let i = 0; i < 20; i++) d.write(h, b(`record ${i};`));
      d.crash();
      return d.readFile('/raft/a.log').toString('hex');
    };
    expect(run()).toBe(run());
  });
});
