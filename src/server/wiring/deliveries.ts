import type { Clock, IdSource } from '../../clock/index.js';
import type { ShardTable } from '../../cluster/index.js';
import { DeliveryProcessor, rerunRun, type GithubRepos, triggerRuns, type RerunResult, type RunCreationDeps, type SourceCatalog, type TriggerResult } from '../../deliveries/index.js';
import type { RunAdmission } from '../../runs/index.js';
import type { BlobStore, Store } from '../../store/index.js';
import { GitMirrors, LockfileReader } from '../../workflows/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';

export interface DeliveryParts {
  config: OrchestratorConfig;
  store: Store;
  clock: Clock;
  ids: IdSource;
  shards: ShardTable;
  admission: RunAdmission;
  catalog: SourceCatalog;
  blobs: BlobStore;
  metrics: OrchestratorMetrics;
  log: Logger;
  /** Deliveries processed at once: no more than the store's pool can serve beside the rest of the node. */
  concurrency: number;
  /**
   * GitHub sources' lock files through the GitHub API (wiring/github.ts). Without it GitHub
   * deliveries stay `received` with the reason in the event log.
   */
  github?: GithubRepos;
}

export interface DeliveryWiring {
  processor: DeliveryProcessor;
  /** The deps every run creator shares; exposed for wiring that starts runs of its own. */
  runCreation: RunCreationDeps;
  mirrors: GitMirrors;
  lockfiles: LockfileReader;
  rerunRun(runId: string, options: { failedOnly?: boolean }): Promise<RerunResult>;
  triggerRuns(input: { sourceId: string; ref: string; repo?: string }): Promise<TriggerResult>;
}

/** The deliveries room over this node's store, shards and concurrency gate: one mirror set, one lock-file cache. */
export function wireDeliveries(p: DeliveryParts): DeliveryWiring {
  // Every new run passes the workflow-concurrency gate before its actor starts it.
  const runCreation: RunCreationDeps = {
    store: p.store,
    clock: p.clock,
    ids: p.ids,
    epochOf: (shard) => p.shards.epochOf(shard),
    start: (runId, hint) => void p.admission.start(runId, hint),
  };
  const mirrors = new GitMirrors({ dataDir: p.config.dataDir });
  const lockfiles = new LockfileReader();
  const processor = new DeliveryProcessor({
    ...runCreation,
    store: p.store,
    mirrors,
    lockfiles,
    blobs: p.blobs,
    sources: p.catalog,
    metrics: p.metrics,
    log: p.log,
    concurrency: p.concurrency,
    github: p.github,
  });
  return {
    processor,
    runCreation,
    mirrors,
    lockfiles,
    rerunRun: (runId, o) => rerunRun(runCreation, runId, o),
    triggerRuns: (input) => triggerRuns({ ...runCreation, store: p.store, mirrors, lockfiles, sourceToken: (s) => p.catalog.secret(s, 'token'), github: p.github }, input),
  };
}
