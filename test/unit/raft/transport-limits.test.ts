import { describe, it, expect } from 'vitest';
import { Network, encodeState } from './network.js';
import { ProposalDroppedError, type Message } from '../../../src/raft/index.js';

const payload = (bytes: number, tag: string) => tag.padEnd(bytes, '.');

function leaderOf3(opts: ConstructorParameters<typeof Network>[1] = {}): Network {
  const n = new Network([1, 2, 3], opts);
  n.node(1).campaign();
  n.stabilize();
  return n;
}

describe('what a real transport needs from the core', () => {
  it('caps the entry bytes of one append message (one entry always fits)', () => {
    const n = leaderOf3({ maxBytesPerMsg: 250 });
    n.isolate(2);
    for (let i = 0; i < 6; i++) n.propose(1, payload(100, `p${i}`));
    n.propose(1, payload(400, 'big'));
    n.stabilize();
    n.heal();
    n.tick(3);
    const appends = n.delivered.filter((m) => m.type === 'append' && m.to === 2 && (m.entries?.length ?? 0) > 0);
    for (const m of appends) {
      const bytes = m.entries!.reduce((s, e) => s + e.data.length, 0);
      expect(bytes <= 250 || m.entries!.length === 1).toBe(true);
    }
    expect(appends.some((m) => m.entries!.length === 2)).toBe(true);
    expect(n.peer(2).applied).toEqual(n.peer(1).applied);
  });

  it('refuses proposals while too many bytes are uncommitted, and takes them again once they commit', () => {
    const n = leaderOf3({ maxUncommittedBytes: 300 });
    n.isolate(1);
    n.propose(1, payload(200, 'a'));
    n.propose(1, payload(100, 'b'));
    expect(() => n.propose(1, payload(1, 'c'))).toThrow(ProposalDroppedError);
    expect(() => n.propose(1, payload(1, 'c'))).toThrow(/not committed yet/);
    n.heal();
    n.tick(2);
    expect(n.peer(1).applied).toHaveLength(2);
    n.propose(1, payload(250, 'd'));
    n.stabilize();
    expect(n.peer(1).applied).toHaveLength(3);
  });

  it('hands committed entries out in pages', () => {
    const pages: number[][] = [];
    const n = leaderOf3({
      maxCommittedBytesPerReady: 250,
      onReady: (id, rd) => {
        if (id === 3 && rd.committedEntries.length > 0) pages.push(rd.committedEntries.map((e) => e.data.length));
      },
    });
    n.isolate(3);
    for (let i = 0; i < 8; i++) n.propose(1, payload(100, `p${i}`));
    n.stabilize();
    n.heal();
    n.tick(3);
    expect(n.peer(3).applied).toHaveLength(8);
    expect(pages.length).toBeGreaterThan(2);
    for (const p of pages) expect(p.reduce((a, b) => a + b, 0) <= 250 || p.length === 1).toBe(true);
  });

  it('stops streaming to a peer reported unreachable', () => {
    const n = leaderOf3();
    n.tick(1);
    n.cutLink(1, 2);
    const appendsTo2 = () => n.pending.filter((m) => m.type === 'append' && m.to === 2).length;
    for (let i = 0; i < 3; i++) n.propose(1, `x${i}`);
    n.processAll();
    expect(appendsTo2()).toBe(3);
    n.stabilize();
    n.node(1).reportUnreachable(2);
    for (let i = 0; i < 3; i++) n.propose(1, `y${i}`);
    n.processAll();
    expect(appendsTo2()).toBe(1);
  });

  it('sends a fresh snapshot at once when the transport reports the last one failed', () => {
    /** Cuts node 3 off while the leader compacts, then loses the first snapshot sent to it. */
    const lost = () => {
      const n = leaderOf3();
      n.isolate(3);
      for (const p of ['a', 'b', 'c']) n.propose(1, p);
      n.stabilize();
      const st = n.node(1).status();
      n.peer(1).storage.compact(st.applied, encodeState(n.peer(1).applied), st.conf);
      n.heal();
      const sent = { snapshots: 0 };
      n.drop = (m: Message) => m.type === 'snapshot' && sent.snapshots++ === 0;
      n.tick(2);
      expect(sent.snapshots).toBe(1);
      return { n, sent };
    };
    const waiting = lost();
    const reported = lost();
    reported.n.node(1).reportSnapshot(3, true);
    waiting.n.tick(2);
    reported.n.tick(2);
    expect(waiting.sent.snapshots).toBe(1);
    expect(reported.sent.snapshots).toBe(2);
    expect(reported.n.peer(3).applied).toEqual(['a', 'b', 'c']);
  });
});
