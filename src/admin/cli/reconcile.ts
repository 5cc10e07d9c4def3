import type { AdminApi } from './api-client.js';
import { printJson } from './output.js';

interface ReconcileReply {
  sourceId: string;
  baseline: boolean;
  refs: { ref: string; before: string; sha: string; deliveryId: string; status: string; runs: string[]; note?: string }[];
}

/**
 * `source redeliver <id>` without `--repo`: the orchestrator fetches the source's mirror now and
 * runs each branch whose tip moved without a delivery (its newest commit). Prints each such ref,
 * its delivery and runs; a ref whose commit already had its runs shows as a duplicate.
 */
export async function reconcileSource(api: AdminApi, sourceId: string, json: boolean): Promise<void> {
  const reply = await api.call<ReconcileReply>('POST', `/sources/${encodeURIComponent(sourceId)}/reconcile`);
  if (json) return printJson(reply);
  if (reply.baseline) process.stdout.write(`reconcile: first look at ${reply.sourceId}: its branch tips are recorded, and only later moves run\n`);
  if (reply.refs.length === 0) {
    process.stdout.write(`reconcile: no branch of ${reply.sourceId} moved without a delivery\n`);
    return;
  }
  for (const r of reply.refs) {
    const what = r.runs.length > 0 ? `${r.runs.length} run(s): ${r.runs.join(' ')}` : (r.note ?? `${r.status}, no run`);
    process.stdout.write(`${r.ref} ${r.sha.slice(0, 12)} (delivery ${r.deliveryId}): ${what}\n`);
  }
}
