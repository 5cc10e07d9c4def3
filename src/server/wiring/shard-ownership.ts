/**
 * The orchestrator's ports for following the shard map (cluster/shard-follower.ts, which the
 * cluster simulator runs too): a gained shard's fence row is raised in PostgreSQL, its unfinished
 * runs are woken through the run admission, and its deliveries left `received` are resumed; every
 * so often the owner sweeps its shards for deliveries and pending runs other nodes left behind.
 */
import type { ActorSystem } from '../../actors/index.js';
import { ShardFollower, type ShardTable } from '../../cluster/index.js';
import type { RunAdmission } from '../../runs/index.js';
import type { Store } from '../../store/index.js';
import type { Clock } from '../../clock/index.js';
import type { Logger } from '../logger.js';
import { admissionRuns } from './run-domain.js';

export interface ShardOwnershipParts {
  nodeId: string;
  table: ShardTable;
  system: ActorSystem;
  store: Pick<Store, 'shards' | 'runs'>;
  admission: RunAdmission;
  /** For retries, the lease and the sweep: a change that failed (the database away) is tried again on this clock. */
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * Queue the deliveries of `shards` still `received` (only those received before `receivedBefore`,
   * when given); resolves with how many. Absent: this node resumes no deliveries.
   */
  resumeDeliveries?(shards: number[], receivedBefore?: Date): Promise<number>;
  /** The shard lease; absent, the node always acts on what the map gives it (a node with no peers to lose). */
  lease?: { ms: number; checkMs: number; inQuorum(): boolean };
  /** How often the owned shards are swept for deliveries left behind, and how old "left behind" is. */
  deliverySweep?: { everyMs: number; leftBehindMs: number };
  /** Told how many shards this node owns after each change (a metric). */
  onOwned?(count: number): void;
  /** Told of each shard gained or lost (a metric). */
  onMoved?(shard: number, gained: boolean): void;
  /** Told how many unfinished runs a gain took over from another node (orphans reclaimed, a metric). */
  onReclaimed?(runs: number): void;
}

/**
 * The node that accepted a delivery normally finishes it within seconds; one still `received` after
 * half a minute was most likely left behind. Resuming one that is merely slow (a first clone of a
 * large repository) is harmless, since processing is idempotent: only the work is done twice.
 */
const DELIVERY_SWEEP = { everyMs: 10_000, leftBehindMs: 30_000 };

export function followShards(p: ShardOwnershipParts): ShardFollower {
  const resumeDeliveries = async (shards: number[], receivedBefore?: Date): Promise<void> => {
    if (!p.resumeDeliveries || shards.length === 0) return;
    // Best effort: the shards are this node's whatever happens here, and the sweep comes back.
    try {
      const resumed = await p.resumeDeliveries(shards, receivedBefore);
      if (resumed) p.log.info({ deliveries: resumed, shards: shards.length }, receivedBefore ? 'resuming deliveries other nodes left unprocessed' : 'resuming deliveries left unprocessed');
    } catch (e) {
      p.log.warn({ err: (e as Error).message }, 'deliveries left unprocessed could not be listed; the sweep tries again');
    }
  };
  const sweep = p.deliverySweep ?? DELIVERY_SWEEP;
  return new ShardFollower({
    nodeId: p.nodeId,
    table: p.table,
    clock: p.clock,
    log: p.log,
    passivate: (shard) => p.system.passivateShard(shard),
    raise: (gains) => p.store.shards.raise(p.nodeId, [...gains]),
    wake: async (shards, taken) => {
      const runs = await p.store.runs.listNonTerminal({ shards });
      await p.admission.restore(admissionRuns(runs));
      return { runs: runs.length, reclaimed: runs.filter((r) => taken.has(r.shard)).length };
    },
    afterGain: (shards) => resumeDeliveries(shards),
    sweep: p.resumeDeliveries && {
      everyMs: sweep.everyMs,
      // What other nodes left behind, older than `leftBehindMs`: deliveries still `received`, and
      // runs still `pending` (their creator recorded them, then died before its `start` reached
      // this node; nothing else would start them while the shard stays put).
      run: async (shards) => {
        const before = p.clock.now() - sweep.leftBehindMs;
        await resumeDeliveries(shards, new Date(before));
        const pending = (await p.store.runs.listNonTerminal({ shards })).filter((r) => r.status === 'pending' && r.createdAt.getTime() < before);
        if (pending.length === 0) return;
        p.log.info({ runs: pending.length }, 'starting runs other nodes created and left pending');
        // Idempotent: a start that was only late finds the run started; a grouped run is admitted once.
        await p.admission.restore(admissionRuns(pending));
      },
    },
    lease: p.lease,
    onOwned: p.onOwned,
    onMoved: p.onMoved,
    onReclaimed: p.onReclaimed,
  });
}
