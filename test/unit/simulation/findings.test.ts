/**
 * Each known finding still shows at its witness seed. When a fix lands, its witness stops showing
 * it and this test fails: take the finding out of src/simulation/findings.ts (and the README).
 */
import { describe, expect, it } from 'vitest';
import { FINDINGS, NOTES, runClusterSeed } from '../../../src/simulation/index.js';

describe('known findings of the cluster simulation', () => {
  for (const f of FINDINGS) {
    it(`${f.id} (${f.kind}) shows at seed ${f.witness}${f.lossy ? ' on the lossy network' : ''}: ${f.title}`, async () => {
      const r = await runClusterSeed(f.witness, f.lossy ? { shape: { network: 'lossy' } } : {});
      expect(r.violations.map((v) => v.kind)).toContain(f.kind);
    });
  }

  for (const n of NOTES) {
    it(`${n.id} (${n.kind}) shows at seed ${n.witness}: ${n.title}`, async () => {
      const r = await runClusterSeed(n.witness);
      expect(r.notes.map((v) => v.kind)).toContain(n.kind);
    });
  }

  it('names every kind once', () => {
    const kinds = [...FINDINGS, ...NOTES].map((f) => f.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });
});
