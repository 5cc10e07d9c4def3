import { describe, it, expect } from 'vitest';
import { Packr } from 'msgpackr';
import { splitSnapshot, type Message } from '../../../src/raft/index.js';
import { raftMessageBody, raftSnapshotChunkBody } from '../../../src/transport/index.js';

const append: Message = {
  type: 'append',
  from: 1,
  to: 2,
  term: 3,
  index: 4,
  logTerm: 3,
  commit: 4,
  entries: [{ term: 3, index: 5, type: 'normal', data: new Uint8Array([1, 2, 3]) }],
};

describe('Raft messages on a peer link', () => {
  it('accepts a message as msgpackr brings it back', () => {
    const packr = new Packr({ useRecords: false });
    const back = packr.unpack(packr.pack(append)) as unknown;
    const parsed = raftMessageBody.parse(back);
    expect([...parsed.entries![0].data]).toEqual([1, 2, 3]);
    expect(parsed).toMatchObject({ type: 'append', from: 1, to: 2, term: 3 });
  });

  it('refuses what the core must never see', () => {
    const bad: unknown[] = [
      { ...append, type: 'snapshot' },
      { ...append, term: -1 },
      { ...append, from: 0 },
      { ...append, to: 1.5 },
      { ...append, entries: [{ term: 1, index: 1, type: 'weird', data: new Uint8Array() }] },
      { ...append, entries: [{ term: 1, index: 1, type: 'normal', data: 'text' }] },
      { ...append, extra: true },
      { ...append, context: 'x'.repeat(300) },
    ];
    for (const b of bad) expect(raftMessageBody.safeParse(b).success).toBe(false);
  });

  it('checks snapshot chunks with the raft codec', () => {
    const snap: Message = { type: 'snapshot', from: 1, to: 2, term: 3, snapshot: { meta: { index: 9, term: 3, conf: { voters: [1, 2], learners: [] } }, data: new Uint8Array(10) } };
    const chunks = splitSnapshot(snap, 4);
    for (const c of chunks) expect(raftSnapshotChunkBody.safeParse(c).success).toBe(true);
    expect(raftSnapshotChunkBody.safeParse({ ...chunks[0], seq: 99 }).success).toBe(false);
    expect(raftSnapshotChunkBody.safeParse({}).success).toBe(false);
  });
});
