/**
 * Reconcile: fetch a git source's mirror and give each branch that moved without a delivery the
 * runs of a push of its newest commit. Such a push goes through the same path as the hook's: a
 * delivery row (listed by `event-log`, resumed after a crash) handed to the delivery processor,
 * which claims the (source, ref, commit) so a hook delivery of the same commit, before or after,
 * is a duplicate rather than a second set of runs.
 */
import type { Clock } from '../clock/index.js';
import type { Source, Store } from '../store/index.js';
import type { DeliveryStatus } from '../vocabulary/index.js';
import type { BranchTip, GitSource } from '../workflows/index.js';
import { planReconcile, type MovedRef } from './plan.js';
import { pushBody, reconcileDeliveryId } from './push-delivery.js';

export interface ReconcileDeps {
  store: Pick<Store, 'sources' | 'refTips' | 'deliveries' | 'runs'>;
  mirrors: { branchTips(source: GitSource): Promise<BranchTip[]> };
  sourceToken(source: Source): Promise<string | null>;
  /** Hand a recorded delivery to processing; resolves once its outcome is recorded. */
  process(key: { orgId: string; deliveryId: string }, body: Buffer): Promise<void>;
  clock: Clock;
}

export interface ReconciledRef {
  ref: string;
  before: string;
  sha: string;
  deliveryId: string;
  /** The delivery's status once processed (`received` when a recording already existed and is still in flight). */
  status: DeliveryStatus;
  runs: string[];
  /** The trace summary when processing gave one (a duplicate names the delivery that has the runs). */
  note?: string;
}

export interface ReconcileReport {
  sourceId: string;
  /** True when this was the source's first reconcile: tips recorded, nothing run for unknown branches. */
  baseline: boolean;
  refs: ReconciledRef[];
}

export class Reconciler {
  constructor(private readonly deps: ReconcileDeps) {}

  /** Every enabled git source, one after the other; one source failing does not stop the rest. */
  async reconcileAll(onFailure: (sourceId: string, error: unknown) => void): Promise<ReconcileReport[]> {
    const reports: ReconcileReport[] = [];
    for (const source of await this.deps.store.sources.list({ kind: 'git' })) {
      if (!source.enabled || !source.url) continue;
      try {
        reports.push(await this.reconcile(source));
      } catch (e) {
        onFailure(source.id, e);
      }
    }
    return reports;
  }

  /** One git source (the caller checked it is an enabled git source with a URL). */
  async reconcile(source: Source): Promise<ReconcileReport> {
    const token = await this.deps.sourceToken(source);
    const current = await this.deps.mirrors.branchTips({ id: source.id, url: source.url!, token: token ?? undefined });
    const recorded = await this.deps.store.refTips.list(source.id);
    const hasBaseline = await this.deps.store.refTips.hasBaseline(source.id);
    const plan = planReconcile(recorded, current, hasBaseline);
    const at = new Date(this.deps.clock.now());
    if (plan.takeBaseline) await this.deps.store.refTips.recordBaseline(source.id, current, at);
    // Branches are independent pushes: each is processed while the next is recorded.
    const refs = await Promise.all(plan.moved.map((moved) => this.runMoved(source, moved, at)));
    return { sourceId: source.id, baseline: plan.takeBaseline, refs };
  }

  private async runMoved(source: Source, moved: MovedRef, at: Date): Promise<ReconciledRef> {
    const deliveryId = reconcileDeliveryId(source.id, moved);
    const body = pushBody(moved, { name: source.name, url: source.url });
    const recorded = await this.deps.store.deliveries.record(
      {
        orgId: source.orgId,
        deliveryId,
        sourceId: source.id,
        sourceKind: 'git',
        eventType: 'push',
        headers: { 'content-type': 'application/json', 'x-delivery-id': deliveryId },
        body,
        dedupKey: deliveryId,
      },
      at,
    );
    if (recorded.outcome === 'accepted') await this.deps.process({ orgId: source.orgId, deliveryId }, body);
    // Already recorded: that delivery stands for this commit (processed, or resumed after a crash).
    // Its processing advances the tip; doing it here too stops an older spooled push that was
    // processed since from pulling the recorded tip back for good.
    else await this.deps.store.refTips.advance(source.id, moved.ref, moved.after, at);
    const outcome = await this.deps.store.deliveries.get(source.orgId, deliveryId);
    const runs = await this.deps.store.runs.listForDelivery(source.orgId, deliveryId);
    const summary = recorded.outcome === 'duplicate' ? `already recorded by an earlier reconcile (${recorded.first.status})` : summaryOf(outcome?.trace);
    return {
      ref: moved.ref,
      before: moved.before,
      sha: moved.after,
      deliveryId,
      status: outcome?.status ?? 'received',
      runs: runs.map((r) => r.id),
      ...(summary !== undefined && { note: summary }),
    };
  }
}

function summaryOf(trace: unknown): string | undefined {
  if (trace && typeof trace === 'object' && 'summary' in trace && typeof trace.summary === 'string') return trace.summary;
  return undefined;
}
