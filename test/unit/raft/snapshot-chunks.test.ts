import { describe, it, expect } from 'vitest';
import { crc32 } from '../../../src/raft/crc32.js';
import {
  SnapshotAssembly,
  SnapshotChunkError,
  splitSnapshot,
  validateSnapshotChunk,
  type Message,
  type SnapshotChunk,
  type SnapshotChunkProblem,
} from '../../../src/raft/index.js';

const CONF = { voters: [1, 2, 3], learners: [4], removed: [9] };

function bytes(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7 + 1) & 0xff;
  return b;
}

function snapshotMsg(data: Uint8Array, opts: { from?: number; term?: number; index?: number; snapTerm?: number } = {}): Message {
  return {
    type: 'snapshot',
    from: opts.from ?? 1,
    to: 2,
    term: opts.term ?? 5,
    snapshot: { meta: { index: opts.index ?? 100, term: opts.snapTerm ?? 4, conf: CONF }, data },
  };
}

/** Runs `fn`, expecting a SnapshotChunkError of `problem`; returns its message. */
function refusal(fn: () => unknown, problem: SnapshotChunkProblem): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotChunkError);
    expect((err as SnapshotChunkError).problem).toBe(problem);
    return (err as Error).message;
  }
  throw new Error(`expected a ${problem} refusal, nothing was thrown`);
}

/** Feeds chunks in order; returns the completed messages (at most one expected). */
function feed(asm: SnapshotAssembly, chunks: SnapshotChunk[], now = 0): Message[] {
  const out: Message[] = [];
  for (const c of chunks) {
    const m = asm.add(c, now);
    if (m) out.push(m);
  }
  return out;
}

describe('splitSnapshot', () => {
  it('cuts the data into chunks of at most chunkBytes, each carrying the full header', () => {
    const data = bytes(10);
    const chunks = splitSnapshot(snapshotMsg(data), 4);
    expect(chunks.map((c) => c.data.length)).toEqual([4, 4, 2]);
    for (const [seq, c] of chunks.entries()) {
      expect(c).toMatchObject({ from: 1, to: 2, term: 5, seq, total: 3, totalBytes: 10, crc: crc32(data) });
      expect(c.meta).toEqual({ index: 100, term: 4, conf: CONF });
      expect(c.meta.conf).not.toBe(CONF); // a copy: nobody downstream can mutate the leader's conf
      expect(validateSnapshotChunk(c)).toEqual(c);
    }
  });

  it('gives one chunk for empty data', () => {
    const chunks = splitSnapshot(snapshotMsg(new Uint8Array(0)), 8);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ seq: 0, total: 1, totalBytes: 0, crc: crc32(new Uint8Array(0)) });
  });

  it('refuses a non-snapshot message and a chunk size below 1', () => {
    const hb: Message = { type: 'heartbeat', from: 1, to: 2, term: 5 };
    expect(() => splitSnapshot(hb, 4)).toThrow(/expected a snapshot message, got heartbeat/);
    expect(() => splitSnapshot({ type: 'snapshot', from: 1, to: 2, term: 5 }, 4)).toThrow(/without a snapshot/);
    expect(() => splitSnapshot(snapshotMsg(bytes(3)), 0)).toThrow(/chunkBytes must be an integer >= 1, got 0/);
    expect(() => splitSnapshot(snapshotMsg(bytes(3)), 1.5)).toThrow(/chunkBytes/);
  });
});

describe('SnapshotAssembly: round trips', () => {
  const cases: Array<[string, number, number]> = [
    ['empty', 0, 4],
    ['one byte', 1, 4],
    ['an exact multiple of the chunk size', 12, 4],
    ['not a multiple of the chunk size', 13, 4],
    ['one chunk per byte', 7, 1],
    ['smaller than one chunk', 5, 64],
  ];
  for (const [name, size, chunkBytes] of cases) {
    it(`reassembles ${name} (${size} bytes in chunks of ${chunkBytes})`, () => {
      const m = snapshotMsg(bytes(size));
      const chunks = splitSnapshot(m, chunkBytes);
      expect(chunks).toHaveLength(Math.max(1, Math.ceil(size / chunkBytes)));
      const asm = new SnapshotAssembly();
      // Nothing comes out until the last chunk.
      for (const c of chunks.slice(0, -1)) expect(asm.add(c, 0)).toBeUndefined();
      const out = asm.add(chunks[chunks.length - 1], 0);
      expect(out).toEqual(m);
      expect(out?.snapshot?.data).not.toBe(m.snapshot?.data);
      expect(asm.pendingSenders()).toEqual([]);
      expect(asm.bufferedBytes).toBe(0);
    });
  }

  it('reassembles from out-of-order and duplicated delivery', () => {
    const m = snapshotMsg(bytes(50));
    const chunks = splitSnapshot(m, 7); // 8 chunks
    const order = [5, 0, 5, 7, 3, 3, 1, 6, 0, 2, 4];
    const asm = new SnapshotAssembly();
    const out: Array<Message | undefined> = order.map((seq) => asm.add(chunks[seq], 0));
    // Only the arrival of the last missing chunk (seq 4) completes it.
    expect(out.slice(0, -1).every((x) => x === undefined)).toBe(true);
    expect(out[out.length - 1]).toEqual(m);
    // A late duplicate after completion starts a harmless partial, nothing more.
    expect(asm.add(chunks[2], 0)).toBeUndefined();
    expect(asm.pendingSenders()).toEqual([1]);
  });

  it('gives nothing while a chunk is missing', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(20)), 5);
    const asm = new SnapshotAssembly();
    expect(feed(asm, [chunks[0], chunks[1], chunks[3], chunks[3], chunks[0]])).toEqual([]);
    expect(asm.bufferedBytes).toBe(15);
    expect(asm.pendingSenders()).toEqual([1]);
  });

  it('assembles snapshots from two senders side by side', () => {
    const a = snapshotMsg(bytes(9, 1), { from: 1 });
    const b = snapshotMsg(bytes(9, 2), { from: 3 });
    const ca = splitSnapshot(a, 4);
    const cb = splitSnapshot(b, 4);
    const asm = new SnapshotAssembly();
    expect(feed(asm, [ca[0], cb[0], cb[1], ca[1], ca[2], cb[2]])).toEqual([a, b]);
  });
});

describe('SnapshotAssembly: corruption and inconsistency', () => {
  it('refuses data whose CRC does not match, and discards the partial', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
    const corrupted = new Uint8Array(chunks[1].data);
    corrupted[2] ^= 0x01;
    chunks[1] = { ...chunks[1], data: corrupted };
    const asm = new SnapshotAssembly();
    expect(asm.add(chunks[0], 0)).toBeUndefined();
    expect(asm.add(chunks[1], 0)).toBeUndefined();
    expect(refusal(() => asm.add(chunks[2], 0), 'crc_mismatch')).toMatch(/CRC-32 \d+ is not the declared \d+/);
    expect(asm.pendingSenders()).toEqual([]);
  });

  it('refuses chunks that add up to fewer bytes than declared', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
    chunks[2] = { ...chunks[2], data: chunks[2].data.subarray(0, 3) };
    const asm = new SnapshotAssembly();
    feed(asm, chunks.slice(0, 2));
    expect(refusal(() => asm.add(chunks[2], 0), 'length_mismatch')).toMatch(/chunks hold 11 bytes, the sender declared 12/);
  });

  it('refuses chunks that hold more bytes than declared, and discards the partial', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
    const asm = new SnapshotAssembly();
    feed(asm, chunks.slice(0, 2));
    const fat = { ...chunks[2], data: bytes(5) };
    expect(refusal(() => asm.add(fat, 0), 'data_too_long')).toMatch(/13 bytes, more than the declared 12/);
    expect(asm.pendingSenders()).toEqual([]);
    expect(asm.bufferedBytes).toBe(0);
  });

  const disagreements: Array<[string, (c: SnapshotChunk) => SnapshotChunk, RegExp]> = [
    ['total', (c) => ({ ...c, total: 4 }), /total 4 disagrees with 3/],
    ['totalBytes', (c) => ({ ...c, totalBytes: 11 }), /totalBytes 11 disagrees with 12/],
    ['crc', (c) => ({ ...c, crc: (c.crc + 1) >>> 0 }), /crc \d+ disagrees with \d+/],
    ['conf', (c) => ({ ...c, meta: { ...c.meta, conf: { voters: [1, 2], learners: [] } } }), /conf .* disagrees with/],
    ['to', (c) => ({ ...c, to: 3 }), /to 3 disagrees with 2/],
  ];
  for (const [field, change, message] of disagreements) {
    it(`refuses a chunk whose ${field} disagrees with the first chunk, and discards the partial`, () => {
      const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
      const asm = new SnapshotAssembly();
      feed(asm, [chunks[0]]);
      expect(refusal(() => asm.add(change(chunks[1]), 0), 'mismatch')).toMatch(message);
      expect(asm.pendingSenders()).toEqual([]);
      // The remaining good chunks cannot complete it on their own any more.
      expect(feed(asm, [chunks[1], chunks[2]])).toEqual([]);
    });
  }

  it('refuses a seq out of range and discards the partial it claims to belong to', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
    const asm = new SnapshotAssembly();
    feed(asm, [chunks[0]]);
    expect(refusal(() => asm.add({ ...chunks[1], seq: 3 }, 0), 'malformed')).toMatch(/seq 3 is out of range for total 3/);
    expect(asm.pendingSenders()).toEqual([]);
  });

  it('keeps the partial when a malformed chunk is of another snapshot', () => {
    const chunks = splitSnapshot(snapshotMsg(bytes(12)), 4);
    const asm = new SnapshotAssembly();
    feed(asm, [chunks[0]]);
    refusal(() => asm.add({ ...chunks[1], meta: { ...chunks[1].meta, index: 90 }, seq: 9 }, 0), 'malformed');
    expect(feed(asm, chunks.slice(1))).toHaveLength(1);
  });
});

describe('SnapshotAssembly: newer, older, stale, too large', () => {
  it('a newer snapshot from the same sender replaces its older partial', () => {
    const older = splitSnapshot(snapshotMsg(bytes(12, 1), { index: 100 }), 4);
    const newerMsg = snapshotMsg(bytes(8, 2), { index: 150 });
    const newer = splitSnapshot(newerMsg, 4);
    const asm = new SnapshotAssembly();
    feed(asm, older.slice(0, 2));
    expect(asm.bufferedBytes).toBe(8);
    expect(asm.add(newer[0], 0)).toBeUndefined();
    expect(asm.bufferedBytes).toBe(4); // the older partial is gone
    // The rest of the older one is now ignored and cannot complete.
    expect(asm.add(older[2], 0)).toBeUndefined();
    expect(asm.add(newer[1], 0)).toEqual(newerMsg);
  });

  it('orders by snapshot term before index, then by message term', () => {
    const asm = new SnapshotAssembly();
    const base = splitSnapshot(snapshotMsg(bytes(8), { index: 100, snapTerm: 4, term: 5 }), 4);
    feed(asm, [base[0]]);
    // Higher snapshot term, lower index: newer.
    const higherTerm = splitSnapshot(snapshotMsg(bytes(8, 3), { index: 90, snapTerm: 5, term: 6 }), 4);
    feed(asm, [higherTerm[0]]);
    expect(asm.add(base[1], 0)).toBeUndefined(); // ignored: older
    // The same snapshot resent by a leader re-elected in a later term restarts the assembly.
    const resentMsg = snapshotMsg(bytes(8, 3), { index: 90, snapTerm: 5, term: 7 });
    const resent = splitSnapshot(resentMsg, 4);
    expect(asm.add(resent[1], 0)).toBeUndefined();
    expect(asm.add(higherTerm[1], 0)).toBeUndefined(); // ignored: stale message term
    expect(asm.bufferedBytes).toBe(4);
    expect(asm.add(resent[0], 0)).toEqual(resentMsg);
  });

  it('ignores a chunk of an older snapshot than the one being assembled', () => {
    const newerMsg = snapshotMsg(bytes(8, 2), { index: 150 });
    const newer = splitSnapshot(newerMsg, 4);
    const older = splitSnapshot(snapshotMsg(bytes(4, 1), { index: 100 }), 4);
    const asm = new SnapshotAssembly();
    feed(asm, [newer[0]]);
    expect(asm.add(older[0], 0)).toBeUndefined(); // would complete on its own, but it is stale
    expect(asm.pendingSenders()).toEqual([1]);
    expect(asm.bufferedBytes).toBe(4);
    expect(asm.add(newer[1], 0)).toEqual(newerMsg);
  });

  it('refuses a declared size over the maximum before buffering anything', () => {
    const asm = new SnapshotAssembly({ maxBytes: 10 });
    const fits = splitSnapshot(snapshotMsg(bytes(10)), 4);
    expect(feed(asm, fits)).toHaveLength(1);
    const big = splitSnapshot(snapshotMsg(bytes(11)), 4);
    expect(refusal(() => asm.add(big[0], 0), 'too_large')).toMatch(/declares 11 bytes, over the maximum of 10/);
    expect(asm.pendingSenders()).toEqual([]);
    expect(asm.bufferedBytes).toBe(0);
    // Checked on the declaration alone: a chunk claiming a huge snapshot is refused whatever it carries.
    const claim = { ...big[0], totalBytes: 2 ** 40, total: 1, data: new Uint8Array(0) };
    refusal(() => asm.add(claim, 0), 'too_large');
    expect(asm.bufferedBytes).toBe(0);
  });

  it('defaults the maximum to 1 GiB', () => {
    const asm = new SnapshotAssembly();
    const [c] = splitSnapshot(snapshotMsg(bytes(1)), 4);
    expect(asm.add({ ...c, totalBytes: 2 ** 30, total: 2, crc: 0 }, 0)).toBeUndefined();
    expect(asm.bufferedBytes).toBe(1);
    const asm2 = new SnapshotAssembly();
    refusal(() => asm2.add({ ...c, totalBytes: 2 ** 30 + 1, total: 1, crc: 0 }, 0), 'too_large');
  });

  it('expire drops a partial with no new chunk for longer than the age, and keeps a progressing one', () => {
    const a = splitSnapshot(snapshotMsg(bytes(12, 1), { from: 1 }), 4);
    const bMsg = snapshotMsg(bytes(12, 2), { from: 3 });
    const b = splitSnapshot(bMsg, 4);
    const asm = new SnapshotAssembly();
    asm.add(a[0], 1000);
    asm.add(b[0], 1000);
    asm.add(b[1], 4000); // b keeps making progress
    asm.add(a[0], 4500); // a duplicate is not progress
    expect(asm.expire(5000, 4000)).toEqual([]); // exactly the age: not yet older than it
    expect(asm.expire(5001, 4000)).toEqual([1]);
    expect(asm.pendingSenders()).toEqual([3]);
    expect(asm.add(a[1], 5002)).toBeUndefined(); // starts over; the dropped chunk is gone
    expect(asm.add(a[2], 5002)).toBeUndefined();
    expect(asm.add(b[2], 5002)).toEqual(bMsg);
  });

  it('refuses a bad maxBytes option', () => {
    expect(() => new SnapshotAssembly({ maxBytes: -1 })).toThrow(/maxBytes/);
    expect(() => new SnapshotAssembly({ maxBytes: 1.5 })).toThrow(/maxBytes/);
  });
});

describe('validateSnapshotChunk', () => {
  const good = (): Record<string, unknown> => {
    const [c] = splitSnapshot(snapshotMsg(bytes(10)), 4);
    return { ...c, meta: { ...c.meta, conf: { ...c.meta.conf } } };
  };

  it('accepts a well-formed chunk and returns a copy holding only the known fields', () => {
    const base = good();
    const c = validateSnapshotChunk({ ...base, extra: 'dropped' });
    expect(c).not.toHaveProperty('extra');
    expect(c).toEqual(base);
    expect(c.data).toBe(base.data); // data is not copied
    // A Buffer is a Uint8Array; `removed` is optional; a bootstrap snapshot has index and term 0.
    const y = { ...good(), data: Buffer.from([1, 2]), meta: { index: 0, term: 0, conf: { voters: [1], learners: [] } } };
    expect(validateSnapshotChunk(y).meta).toEqual({ index: 0, term: 0, conf: { voters: [1], learners: [] } });
  });

  const withConf = (conf: unknown) => (x: Record<string, unknown>) => ({ ...x, meta: { ...(x.meta as object), conf } });
  const withMeta = (meta: Record<string, unknown>) => (x: Record<string, unknown>) => ({ ...x, meta: { ...(x.meta as object), ...meta } });
  const bad: Array<[string, (x: Record<string, unknown>) => unknown, RegExp]> = [
    ['not an object', () => 42, /chunk must be an object, got number/],
    ['null', () => null, /chunk must be an object, got null/],
    ['an array', () => [], /chunk must be an object, got array/],
    ['from missing', (x) => ({ ...x, from: undefined }), /from must be an integer >= 1, got undefined/],
    ['from 0', (x) => ({ ...x, from: 0 }), /from must be an integer >= 1, got 0/],
    ['from a string', (x) => ({ ...x, from: '1' }), /from must be an integer >= 1, got string/],
    ['to fractional', (x) => ({ ...x, to: 2.5 }), /to must be an integer >= 1, got 2.5/],
    ['from equal to to', (x) => ({ ...x, to: 1 }), /from and to are both 1/],
    ['term 0', (x) => ({ ...x, term: 0 }), /term must be an integer >= 1, got 0/],
    ['term NaN', (x) => ({ ...x, term: NaN }), /term must be an integer >= 1, got NaN/],
    ['meta missing', (x) => ({ ...x, meta: undefined }), /meta must be an object/],
    ['meta.index negative', withMeta({ index: -1 }), /meta.index must be an integer >= 0, got -1/],
    ['meta.term unsafe', withMeta({ term: 2 ** 53 }), /meta.term must be an integer >= 0/],
    ['meta.conf missing', withConf(undefined), /meta.conf must be an object/],
    ['meta.conf.voters not an array', withConf({ voters: 1, learners: [] }), /meta.conf.voters must be an array/],
    ['meta.conf.voters holding 0', withConf({ voters: [1, 0], learners: [] }), /meta.conf.voters\[1\] must be an integer >= 1, got 0/],
    ['meta.conf.learners missing', withConf({ voters: [1] }), /meta.conf.learners must be an array/],
    ['meta.conf.removed not ids', withConf({ voters: [1], learners: [], removed: ['x'] }), /meta.conf.removed\[0\] must be an integer/],
    ['seq negative', (x) => ({ ...x, seq: -1 }), /seq must be an integer >= 0, got -1/],
    ['seq at total', (x) => ({ ...x, seq: 3 }), /seq 3 is out of range for total 3/],
    ['total 0', (x) => ({ ...x, total: 0 }), /total must be an integer >= 1, got 0/],
    ['total above the bytes', (x) => ({ ...x, total: 11 }), /total 11 is more chunks than the 10 bytes need/],
    ['total above one for empty data', (x) => ({ ...x, total: 2, totalBytes: 0, data: new Uint8Array(0) }), /total 2 is more chunks than the 0 bytes need/],
    ['totalBytes negative', (x) => ({ ...x, totalBytes: -1 }), /totalBytes must be an integer >= 0, got -1/],
    ['crc negative', (x) => ({ ...x, crc: -1 }), /crc must be an integer >= 0, got -1/],
    ['crc over 32 bits', (x) => ({ ...x, crc: 2 ** 32 }), /crc 4294967296 is not a 32-bit value/],
    ['data a plain array', (x) => ({ ...x, data: [1, 2] }), /data must be a Uint8Array, got array/],
    ['data a string', (x) => ({ ...x, data: 'AAEC' }), /data must be a Uint8Array, got string/],
    ['data an ArrayBuffer', (x) => ({ ...x, data: new ArrayBuffer(2) }), /data must be a Uint8Array, got ArrayBuffer/],
    ['data longer than declared', (x) => ({ ...x, totalBytes: 3, total: 1, data: bytes(4) }), /data holds 4 bytes, more than the declared 3/],
  ];
  for (const [name, make, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(refusal(() => validateSnapshotChunk(make(good())), 'malformed')).toMatch(message);
    });
  }
});
