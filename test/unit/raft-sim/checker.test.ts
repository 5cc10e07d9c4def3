import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import { SafetyChecker, type LogView } from '../../../src/raft/sim/index.js';

const ent = (index: number, term: number, text: string): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});

/** A persisted log given as terms by index (index 1 first). */
const logOf = (terms: number[]): LogView => ({
  firstIndex: () => 1,
  lastIndex: () => terms.length,
  term: (i) => (i === 0 ? 0 : terms[i - 1]),
});

describe('safety checker', () => {
  it('accepts a consistent history', () => {
    const c = new SafetyChecker(() => 0);
    c.onLeader(1, 1, logOf([]));
    for (const n of [1, 2, 3]) c.onPersist(n, [ent(1, 1, 'a'), ent(2, 1, 'b')], 0);
    for (const n of [1, 2, 3]) {
      c.onApply(n, ent(1, 1, 'a'));
      c.onApply(n, ent(2, 1, 'b'));
    }
    c.onNotLeader(1);
    c.onLeader(2, 2, logOf([1, 1]));
    expect(c.violations).toEqual([]);
    expect(c.committedIndex).toBe(2);
  });

  it('catches two leaders in one term', () => {
    const c = new SafetyChecker(() => 1234);
    c.onLeader(1, 3, logOf([]));
    c.onLeader(2, 3, logOf([]));
    expect(c.violations).toHaveLength(1);
    expect(c.violations[0]).toMatchObject({ at: 1234, property: 'election safety' });
    expect(c.violations[0].detail).toContain('term 3');
  });

  it('allows the same node to be leader of a term twice (restarted view) and different terms', () => {
    const c = new SafetyChecker(() => 0);
    c.onLeader(1, 3, logOf([]));
    c.onLeader(1, 3, logOf([]));
    c.onLeader(2, 4, logOf([]));
    expect(c.ok).toBe(true);
  });

  it('catches log matching broken: same index and term, different entries', () => {
    const c = new SafetyChecker(() => 0);
    c.onPersist(1, [ent(1, 1, 'a')], 0);
    c.onPersist(2, [ent(1, 1, 'z')], 0);
    expect(c.violations.map((v) => v.property)).toEqual(['log matching']);
  });

  it('catches log matching broken: same entry after a different previous term', () => {
    const c = new SafetyChecker(() => 0);
    c.onPersist(1, [ent(1, 1, 'a'), ent(2, 2, 'b')], 0);
    c.onPersist(2, [ent(1, 2, 'q'), ent(2, 2, 'b')], 0);
    expect(c.violations.map((v) => v.property)).toEqual(['log matching']);
  });

  it('catches a leader that lacks a committed entry', () => {
    const c = new SafetyChecker(() => 0);
    c.onApply(1, ent(1, 1, 'a'));
    c.onApply(1, ent(2, 1, 'b'));
    c.onLeader(3, 2, logOf([1]));
    expect(c.violations.map((v) => v.property)).toEqual(['leader completeness']);
  });

  it('catches a current leader missing an entry committed after its election', () => {
    const c = new SafetyChecker(() => 0);
    c.onLeader(3, 2, logOf([1, 2]));
    c.onApply(1, ent(1, 1, 'a'));
    c.onApply(1, ent(2, 1, 'b')); // leader 3 holds term 2 at index 2: it cannot hold this entry
    expect(c.violations.map((v) => v.property)).toEqual(['leader completeness']);
  });

  it('does not hold an earlier-term leader to entries committed in a later term', () => {
    // Seed 730's shape: entries of term 4 committed only by the leader of term 6; the leader of
    // term 5 (which overwrote them in its own log) is not "later" than that commit.
    const c = new SafetyChecker(() => 0);
    c.onLeader(2, 5, logOf([4, 5]));
    c.onApply(1, ent(1, 4, 'a'), 6);
    c.onApply(1, ent(2, 6, 'b'), 6);
    expect(c.violations).toEqual([]);
    c.onLeader(3, 7, logOf([4, 5]));
    expect(c.violations.map((v) => v.property)).toEqual(['leader completeness']);
  });

  it('catches diverging state machines, gaps and double application', () => {
    const c = new SafetyChecker(() => 0);
    c.onApply(1, ent(1, 1, 'a'));
    c.onApply(2, ent(1, 1, 'b'));
    expect(c.violations.map((v) => v.property)).toEqual(['state machine safety']);

    const gap = new SafetyChecker(() => 0);
    gap.onApply(1, ent(2, 1, 'a'));
    expect(gap.ok).toBe(false);

    const twice = new SafetyChecker(() => 0);
    twice.onApply(1, ent(1, 1, 'p1'));
    twice.onApply(1, ent(2, 1, 'p1'));
    expect(twice.violations[0].detail).toContain('both index 1 and 2');
  });

  it('checks a restored state against the applied sequence', () => {
    const c = new SafetyChecker(() => 0);
    c.onApply(1, ent(1, 1, 'a'));
    const good = c.appliedOf(1).digest;
    c.onRestart(2, 1, good);
    expect(c.ok).toBe(true);
    c.onApply(2, ent(2, 1, 'b'));
    c.onSnapshotApplied(3, 1, good ^ 1);
    expect(c.violations.map((v) => v.property)).toEqual(['state machine safety']);
  });

  it('catches a node that grants two votes in one term (it forgot the first)', () => {
    const c = new SafetyChecker(() => 0);
    c.onVoteGranted(1, 4, 2);
    c.onVoteGranted(1, 4, 2); // the same vote again (a retransmission) is fine
    c.onVoteGranted(1, 5, 3);
    expect(c.ok).toBe(true);
    c.onVoteGranted(1, 5, 2);
    expect(c.violations.map((v) => v.property)).toEqual(['vote safety']);
    expect(c.violations[0].detail).toContain('node 1 voted for both 3 and 2 in term 5');
  });
});
