/**
 * Invariant 6: at most one coordinator acts per term; a deposed coordinator's writes are rejected.
 *
 * What the data holds (src/store/fence.ts): a `shards` row per shard with its owner node and epoch,
 * raised only forward by the node that gains the shard; every run and job write is fenced by that
 * row and stamps the row it writes with its epoch (`owner_epoch`). Raft terms are not stored, so
 * "one coordinator per term" is judged per shard epoch, the term of a shard's ownership. Checked:
 *
 * In every view (one instant, read in one transaction):
 * - no run or job was last written at an epoch above its shard's row: that epoch was never the
 *   row's, so the fence let a write through at an epoch nobody held (or the run's shard has no row
 *   at all, which refuses every write).
 * Between consecutive views A → B (needs samples taken during the workload, database-samples.ts):
 * - a shard's epoch never goes back, and one epoch of one shard never names two owner nodes;
 * - a run or job row written (or created) between A and B carries an epoch no lower than its
 *   shard's epoch in A: otherwise a coordinator deposed by A wrote after it was deposed.
 *
 * A violation is dated at the view that first shows it (the write happened before it, after the
 * view before).
 *
 * Not checked: a deposed write that a later write overwrote before the next view (sample more
 * often to narrow that window); steps (their rows carry no epoch); deliveries (not fenced); which
 * node made a write (rows record the epoch, not the writer); Raft leadership itself.
 */
import type { DatabaseView, JobView, RunView, ShardView } from '../database-view.js';
import { brokenAt, invariantReport, type InvariantReport } from '../report.js';

export function checkFencedWrites(views: readonly DatabaseView[]): InvariantReport {
  const evidence: string[] = [];
  const times: number[] = [];
  const found = (view: DatabaseView, lines: string[]) => {
    evidence.push(...lines);
    if (lines.length > 0) times.push(view.takenAt.getTime());
  };
  views.forEach((view, index) => found(view, writesAboveTheirShard(view, label(views, index))));
  const owners = new Map<string, { node: string; seen: string }>();
  views.forEach((view, index) => found(view, twoOwnersOfOneEpoch(view, label(views, index), owners)));
  for (let i = 1; i < views.length; i += 1) {
    const before = views[i - 1] as DatabaseView;
    const after = views[i] as DatabaseView;
    found(after, epochsGoingBack(before, after, label(views, i - 1), label(views, i)));
    found(after, writesBelowTheirShard(before, after, label(views, i - 1), label(views, i)));
  }
  const notes = [`${views.length} database view(s); shard epochs against the epochs run and job writes were stamped with`];
  if (views.length < 2) notes.push('one view only: writes by a deposed coordinator between views, and epochs going back, were not checked (sample the database during the workload)');
  notes.push('not checked: deposed writes overwritten before the next view; step rows (no epoch); which node wrote; Raft terms themselves');
  return brokenAt(invariantReport(6, evidence, notes), times);
}

function label(views: readonly DatabaseView[], index: number): string {
  return `view ${index + 1}/${views.length} (${(views[index] as DatabaseView).takenAt.toISOString()})`;
}

function shardEpochs(view: DatabaseView): Map<number, ShardView> {
  return new Map(view.shards.map((s) => [s.shard, s]));
}

/** Each job with the shard of its run (a run's shard never changes). */
function fencedRows(view: DatabaseView): { row: RunView | JobView; name: string; shard: number }[] {
  const shardOf = new Map(view.runs.map((r) => [r.id, r.shard]));
  return [
    ...view.runs.map((r) => ({ row: r, name: `run ${r.id}`, shard: r.shard })),
    ...view.jobs.flatMap((j) => {
      const shard = shardOf.get(j.runId);
      return shard === undefined ? [] : [{ row: j, name: `job ${j.id} "${j.name}" of run ${j.runId}`, shard }];
    }),
  ];
}

function writesAboveTheirShard(view: DatabaseView, at: string): string[] {
  const shards = shardEpochs(view);
  const out: string[] = [];
  for (const { row, name, shard } of fencedRows(view)) {
    const fence = shards.get(shard);
    if (!fence) out.push(`${at}: ${name} is in shard ${shard}, which has no fence row`);
    else if (row.ownerEpoch > fence.epoch) {
      out.push(`${at}: ${name} was written at epoch ${row.ownerEpoch}, above shard ${shard}'s epoch ${fence.epoch} (owner ${fence.ownerNode})`);
    }
  }
  return out;
}

function twoOwnersOfOneEpoch(view: DatabaseView, at: string, owners: Map<string, { node: string; seen: string }>): string[] {
  const out: string[] = [];
  for (const s of view.shards) {
    const key = `${s.shard}@${s.epoch}`;
    const known = owners.get(key);
    if (!known) owners.set(key, { node: s.ownerNode, seen: at });
    else if (known.node !== s.ownerNode) {
      out.push(`shard ${s.shard} epoch ${s.epoch} had two owners: ${known.node} (${known.seen}) and ${s.ownerNode} (${at})`);
    }
  }
  return out;
}

function epochsGoingBack(before: DatabaseView, after: DatabaseView, from: string, to: string): string[] {
  const now = shardEpochs(after);
  const out: string[] = [];
  for (const s of before.shards) {
    const later = now.get(s.shard);
    if (!later) out.push(`shard ${s.shard}'s fence row (epoch ${s.epoch}, ${s.ownerNode}) disappeared between ${from} and ${to}`);
    else if (later.epoch < s.epoch) {
      out.push(`shard ${s.shard}'s epoch went back from ${s.epoch} (${s.ownerNode}) to ${later.epoch} (${later.ownerNode}) between ${from} and ${to}`);
    }
  }
  return out;
}

function writesBelowTheirShard(before: DatabaseView, after: DatabaseView, from: string, to: string): string[] {
  const shards = shardEpochs(before);
  const versions = new Map<string, string>([...before.runs, ...before.jobs].map((r) => [r.id, r.version]));
  const out: string[] = [];
  for (const { row, name, shard } of fencedRows(after)) {
    const earlier = versions.get(row.id);
    if (earlier === row.version) continue;
    const fence = shards.get(shard);
    if (fence && row.ownerEpoch < fence.epoch) {
      const what = earlier === undefined ? 'created' : 'written';
      out.push(`${name} was ${what} at epoch ${row.ownerEpoch} between ${from} and ${to}, after shard ${shard} had reached epoch ${fence.epoch} (owner ${fence.ownerNode}): a deposed owner's write went through`);
    }
  }
  return out;
}
