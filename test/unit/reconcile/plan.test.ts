import { describe, expect, it } from 'vitest';
import { planReconcile } from '../../../src/reconcile/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ZERO = '0'.repeat(40);

describe('planReconcile', () => {
  it('a source seen for the first time only records its tips: no branch runs', () => {
    const plan = planReconcile([], [{ ref: 'refs/heads/main', sha: A }, { ref: 'refs/heads/dev', sha: B }], false);
    expect(plan).toEqual({ takeBaseline: true, moved: [] });
  });

  it('before the baseline, a branch a delivery recorded still counts when it moved', () => {
    const plan = planReconcile([{ ref: 'refs/heads/main', sha: A }], [{ ref: 'refs/heads/main', sha: C }, { ref: 'refs/heads/dev', sha: B }], false);
    expect(plan).toEqual({ takeBaseline: true, moved: [{ ref: 'refs/heads/main', before: A, after: C }] });
  });

  it('after the baseline: a moved branch runs from its recorded tip, an unmoved one does not, a new one runs as a new branch', () => {
    const recorded = [
      { ref: 'refs/heads/main', sha: A },
      { ref: 'refs/heads/stable', sha: B },
    ];
    const current = [
      { ref: 'refs/heads/feature', sha: C },
      { ref: 'refs/heads/main', sha: C },
      { ref: 'refs/heads/stable', sha: B },
    ];
    expect(planReconcile(recorded, current, true)).toEqual({
      takeBaseline: false,
      moved: [
        { ref: 'refs/heads/feature', before: ZERO, after: C },
        { ref: 'refs/heads/main', before: A, after: C },
      ],
    });
  });

  it('a deleted branch and refs other than branches start nothing', () => {
    const plan = planReconcile([{ ref: 'refs/heads/gone', sha: A }], [{ ref: 'refs/tags/v1', sha: B }], true);
    expect(plan.moved).toEqual([]);
  });
});
