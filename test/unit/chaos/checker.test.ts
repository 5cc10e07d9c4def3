import { describe, expect, it } from 'vitest';
import { judgeInvariants } from '../../../chaos/checker.js';
import { expectWorkflows } from '../../../chaos/expected-runs.js';
import { allHeld, formatReport } from '../../../chaos/report.js';
import { at, delivery, executed, job, run, view } from './fixtures.js';

describe('judgeInvariants', () => {
  const views = [
    view({
      deliveries: [delivery('del-1')],
      runs: [run('run-1', { deliveryId: 'del-1' })],
      jobs: [job('job-1', 'run-1')],
    }),
  ];
  const journal = { entries: executed({ execution: 'e1', agent: 'agent-a', start: at(0), end: at(1) }), problems: [], found: true };

  it('judges invariants 1, 2, 3 and 6 in order and prints them', () => {
    const reports = judgeInvariants({ journal, views, expect: expectWorkflows({ 'del-1': ['ci'] }) });
    expect(reports.map((r) => [r.invariant, r.held])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [6, true],
    ]);
    expect(allHeld(reports)).toBe(true);
    const text = formatReport(reports);
    expect(text).toContain('invariant 3: a job never runs on two agents at the same time, nor twice for one attempt: HELD');
    expect(text.split('\n').at(-1)).toBe('no invariant broken');
  });

  it('prints the evidence of a broken invariant, capped', () => {
    const stuck = [view({ runs: Array.from({ length: 30 }, (_, i) => run(`run-${i}`, { status: 'running' })) })];
    const reports = judgeInvariants({ journal, views: stuck });
    expect(allHeld(reports)).toBe(false);
    const text = formatReport(reports);
    expect(text).toContain('invariant 2: every run reaches a terminal state: BROKEN');
    expect(text).toContain('  ✗ run run-0 (workflow "ci") is still running');
    expect(text).toContain('  … and 5 more');
    expect(text.split('\n').at(-1)).toBe('broken: 2');
  });

  it('needs a view of the database', () => {
    expect(() => judgeInvariants({ journal, views: [] })).toThrow(/at least one database view/);
  });
});
