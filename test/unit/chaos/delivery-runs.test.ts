import { describe, expect, it } from 'vitest';
import { expectMatchedCount, expectWorkflows } from '../../../chaos/expected-runs.js';
import { checkDeliveryRuns } from '../../../chaos/invariants/delivery-runs.js';
import { delivery, run, T0, view } from './fixtures.js';

const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe('invariant 1: each accepted delivery leads to the runs its lock file asks for, once', () => {
  const expected = expectWorkflows({ 'del-1': ['ci', 'lint'], 'del-2': [], 'del-3': ['ci'] });
  const healthy = view({
    deliveries: [delivery('del-1', { matchedCount: 2 }), delivery('del-2', { status: 'filtered', matchedCount: 0 }), delivery('del-3')],
    runs: [
      run('run-1', { deliveryId: 'del-1', workflowName: 'ci' }),
      run('run-2', { deliveryId: 'del-1', workflowName: 'lint' }),
      run('run-3', { deliveryId: 'del-3', workflowName: 'ci' }),
      // A re-run of run-3: the operator's, not the delivery's second run.
      run('run-4', { deliveryId: 'del-3', workflowName: 'ci', parentRunId: 'run-3', attempt: 2 }),
    ],
  });

  it('holds when every delivery has exactly the runs expected', () => {
    const report = checkDeliveryRuns(healthy, expected);
    expect(report).toMatchObject({ invariant: 1, held: true, evidence: [] });
    expect(checkDeliveryRuns(healthy, expectMatchedCount()).held).toBe(true);
  });

  it('is broken by a delivery with two runs of one workflow, naming both runs', () => {
    const broken = view({ ...healthy, runs: [...healthy.runs, run('run-9', { deliveryId: 'del-3', workflowName: 'ci' })] });
    const report = checkDeliveryRuns(broken, expected);
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([expect.stringMatching(/delivery del-3 .*workflow "ci" has 2 runs: run-3, run-9/)]);
    expect(report.firstViolationAtMs, 'dated when the second run was created').toBe(T0.getTime());
    expect(checkDeliveryRuns(broken, expectMatchedCount()).evidence).toEqual([expect.stringContaining('run-3, run-9')]);
  });

  it('is broken by a delivery that led to no run, or to a run nobody asked for', () => {
    const broken = view({ ...healthy, runs: healthy.runs.filter((r) => r.id !== 'run-2').concat(run('run-5', { deliveryId: 'del-2', workflowName: 'deploy' })) });
    const report = checkDeliveryRuns(broken, expected);
    expect(report.evidence).toEqual([
      expect.stringMatching(/delivery del-1 .*no run of workflow "lint" \(found run run-1 of "ci"\)/),
      expect.stringMatching(/delivery del-2 .*run run-5 of workflow "deploy", which its lock file does not ask for/),
    ]);
  });

  it("is broken by a delivery the workload saw accepted that the event log lacks, or one left 'received'", () => {
    const report = checkDeliveryRuns(
      view({ deliveries: [delivery('del-1', { status: 'received', matchedCount: 0 })], runs: [] }),
      expectWorkflows(new Map([['org/del-1', ['ci']], ['del-4', ['ci']]])),
    );
    expect(report.evidence).toEqual([
      expect.stringMatching(/delivery del-1 .*received\) was never processed/),
      expect.stringMatching(/delivery del-1 .*no run of workflow "ci" \(found no run\)/),
      'delivery del-4 was accepted (the workload got a 202) but is not in the event log',
    ]);
  });

  it("compares with matched_count when the workload gives no expectation, and says so", () => {
    const report = checkDeliveryRuns(view({ deliveries: [delivery('del-1', { matchedCount: 2 })], runs: [run('run-1', { deliveryId: 'del-1' })] }), expectMatchedCount());
    expect(report.evidence).toEqual([expect.stringMatching(/delivery del-1 .*2 workflow run\(s\) expected, found run run-1 of "ci"/)]);
    expect(report.notes.join('\n')).toContain('matched_count');
  });

  it('dates the first violation: a second run at its creation, a missing run at its delivery; none when it holds', () => {
    const twice = view({
      deliveries: [delivery('del-1', { receivedAt: later(3) }), delivery('del-2', { receivedAt: later(9) })],
      runs: [
        run('run-1', { deliveryId: 'del-1', createdAt: later(4) }),
        run('run-2', { deliveryId: 'del-1', createdAt: later(20) }),
      ],
    });
    const report = checkDeliveryRuns(twice, expectWorkflows({ 'del-1': ['ci'], 'del-2': ['ci'] }));
    expect(report.evidence).toHaveLength(2);
    // del-1's second run came at 20 s, del-2 (no run) arrived at 9 s: the earlier is the first.
    expect(report.firstViolationAtMs).toBe(later(9).getTime());
    expect(checkDeliveryRuns(twice, expectWorkflows({ 'del-1': ['ci'] })).firstViolationAtMs).toBe(later(20).getTime());
    expect(checkDeliveryRuns(healthy, expected).firstViolationAtMs).toBeUndefined();
  });
});
