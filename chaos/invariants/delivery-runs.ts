/**
 * Invariant 1: every accepted webhook delivery leads to the runs its lock file asks for, exactly
 * once. From the end state: each delivery row's first runs (re-runs, which carry a parent, are the
 * operator's, not the delivery's) grouped by workflow, against what was expected of it.
 *
 * When a violation happened, for the report: a run too many was created at its creation; a run
 * missing, or a delivery never processed, went wrong when the delivery came in.
 */
import type { DatabaseView, RunView } from '../database-view.js';
import type { ExpectedRuns } from '../expected-runs.js';
import { groupBy } from '../grouping.js';
import { brokenAt, invariantReport, type InvariantReport } from '../report.js';

export function checkDeliveryRuns(view: DatabaseView, expected: ExpectedRuns): InvariantReport {
  const evidence: string[] = [];
  const times: number[] = [];
  const runsOf = firstRunsByDelivery(view.runs);
  let skipped = 0;

  for (const delivery of view.deliveries) {
    const name = `delivery ${delivery.deliveryId} (org ${delivery.orgId}, ${delivery.status})`;
    const runs = runsOf.get(key(delivery.orgId, delivery.deliveryId)) ?? [];
    const byWorkflow = groupBy(runs, (r) => r.workflowName);

    for (const [workflow, same] of byWorkflow) {
      if (same.length < 2) continue;
      evidence.push(`${name}: workflow "${workflow}" has ${same.length} runs: ${same.map((r) => r.id).join(', ')}`);
      times.push(secondCreated(same));
    }
    const before = evidence.length;
    if (delivery.status === 'received') evidence.push(`${name} was never processed`);

    const wanted = expected.workflowsFor(delivery);
    if (wanted === undefined) {
      skipped += 1;
    } else if (typeof wanted === 'number') {
      if (byWorkflow.size !== wanted) {
        evidence.push(`${name}: ${wanted} workflow run(s) expected, found ${describeRuns(runs)}`);
      }
    } else {
      for (const workflow of wanted) {
        if (!byWorkflow.has(workflow)) evidence.push(`${name}: no run of workflow "${workflow}" (found ${describeRuns(runs)})`);
      }
      for (const [workflow, same] of byWorkflow) {
        if (!wanted.includes(workflow)) evidence.push(`${name}: run ${same.map((r) => r.id).join(', ')} of workflow "${workflow}", which its lock file does not ask for`);
      }
    }
    if (evidence.length > before) times.push(delivery.receivedAt.getTime());
  }

  const logged = new Set(view.deliveries.flatMap((d) => [d.deliveryId, key(d.orgId, d.deliveryId)]));
  for (const id of expected.accepted) {
    if (!logged.has(id)) evidence.push(`delivery ${id} was accepted (the workload got a 202) but is not in the event log`);
  }

  const notes = [
    `${view.deliveries.length} deliveries and ${view.runs.length} runs looked at; expected runs from ${expected.describe}`,
  ];
  if (skipped > 0) notes.push(`${skipped} deliveries had no expectation and were checked only for duplicate runs and processing`);
  return brokenAt(invariantReport(1, evidence, notes), times);
}

/** When the second of a workflow's runs was created: the moment the delivery ran it twice. */
function secondCreated(same: readonly RunView[]): number {
  const created = same.map((r) => r.createdAt.getTime()).sort((a, b) => a - b);
  return created[1] ?? created[0] ?? Number.POSITIVE_INFINITY;
}

function firstRunsByDelivery(runs: readonly RunView[]): Map<string, RunView[]> {
  return groupBy(
    runs.filter((r) => r.deliveryId !== null && r.parentRunId === null),
    (r) => key(r.orgId, r.deliveryId ?? ''),
  );
}

function key(orgId: string, deliveryId: string): string {
  return `${orgId}/${deliveryId}`;
}

function describeRuns(runs: readonly RunView[]): string {
  if (runs.length === 0) return 'no run';
  return runs.map((r) => `run ${r.id} of "${r.workflowName}"`).join(', ');
}
