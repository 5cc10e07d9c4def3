import { describe, expect, it } from 'vitest';
import { ReadChecker, runSeed, type CoreFactory } from '../../../src/raft/sim/index.js';
import { RawNode } from '../../../src/raft/index.js';

function checker(): { reads: ReadChecker; failures: string[] } {
  const failures: string[] = [];
  return { reads: new ReadChecker((p, d) => failures.push(`${p}: ${d}`)), failures };
}

describe('read checker (linearizability)', () => {
  it('accepts reads that see every write acknowledged before they started', () => {
    const { reads, failures } = checker();
    reads.onAck(3);
    const floor = reads.onStart();
    reads.onAck(9); // acknowledged while the read was in flight: it may or may not see it
    reads.onAnswer({ kind: 'index', node: 1, start: 10, end: 20, index: 3, floor });
    const later = reads.onStart();
    reads.onAnswer({ kind: 'lease', node: 1, start: 30, end: 30, index: 9, floor: later }, { term: 2, newestLeaderTerm: 2 });
    expect(failures).toEqual([]);
  });

  it('fails a read whose index is below a write acknowledged before it started', () => {
    const { reads, failures } = checker();
    reads.onAck(5);
    const floor = reads.onStart();
    reads.onAnswer({ kind: 'index', node: 2, start: 100, end: 120, index: 4, floor });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^linearizability: index read on n2 .* saw index 4, but index 5 was acknowledged before it started/);
  });

  it('fails a lease read served after a leader of a later term was elected', () => {
    const { reads, failures } = checker();
    const floor = reads.onStart();
    reads.onAnswer({ kind: 'lease', node: 1, start: 5, end: 5, index: 0, floor }, { term: 3, newestLeaderTerm: 4 });
    expect(failures).toEqual([expect.stringMatching(/^lease: lease read on n1 \(leader of term 3\)/)]);
  });
});

/** A core whose leader believes its lease no matter what: what a broken lease looks like. */
const everLease: CoreFactory = (config) => {
  const node = new RawNode(config);
  return Object.assign(node, { hasQuorumLease: () => node.status().role === 'leader' });
};

describe('reads and the lease in seeded runs', () => {
  it('a lease that never expires is caught, by the lease watch and by stale lease reads', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40 && seen.size < 2; seed++) {
      // Without check-quorum a deposed leader keeps leading (in its own eyes) until it hears of a
      // later term, and the faked lease keeps answering.
      const r = await runSeed(seed, { factory: everLease, host: 'loop', checkQuorum: false, choice: { forced: ['reads'], plain: true } });
      for (const v of r.violations) seen.add(v.property);
    }
    expect(seen).toContain('lease');
    expect(seen).toContain('linearizability');
  });
});
