/**
 * The simulator's door: a deterministic discrete-event simulation of a Raft cluster running the
 * real core (RawNode under the simulator's loop, or the production RaftDriver), with a faulty
 * network, storage that models fsync (SimStorage, or the production FileStorage on a simulated
 * disk that tears, rots, fills up and fails), per-server clocks that drift and lag, a client that
 * proposes and reads, crash/pause/membership/disk faults and a safety checker. Like the rest of
 * raft/, it imports only `node:` built-ins and raft/ files.
 */
export { SimRandom } from './random.js';
export { EventQueue, type SimEvent } from './events.js';
export { SimStorage } from './storage.js';
export { SimDisk, type DiskFaultStats } from './disk.js';
export { FileStore, MemoryStore, RAFT_DIR, SIM_SEGMENT_BYTES, storageFailure, type HostStorage, type NodeStore, type StoreKind } from './store.js';
export { ObservedStorage, type StorageWatch } from './observed-storage.js';
export { NO_LAG, NodeClock, drawRate, type TimerLag } from './clock.js';
export { SimNetwork, messageBytes, type NetworkParams, type NetworkStats } from './network.js';
export { SafetyChecker, fingerprint, type LogView, type Violation } from './checker.js';
export { ReadChecker, type ReadKind, type ReadRecord, type ReadStats } from './reads.js';
export { carries, decodeDigest, encodeDigest, proposalData } from './state-machine.js';
export { SimHost, type HostEvents, type HostTiming } from './host.js';
export { DriverHost } from './driver-host.js';
export type { HostState, ReadDone, SimServer } from './server.js';
export { MAX_JOINS, SimCluster, describe as describeMessage, type Ack, type ClusterListener, type ClusterOptions } from './cluster.js';
export { SimClient, type ClientPlan } from './client.js';
export { rawNodeFactory, type CoreFactory, type CoreNode } from './core.js';
export {
  CLOCK_DRIFT,
  DEFAULT_CHOICE,
  FEATURE_NAMES,
  FEATURE_SHARES,
  PLAIN_FEATURES,
  choiceFlags,
  describeFeatures,
  drawFeatures,
  type FeatureChoice,
  type FeatureName,
  type Features,
} from './features.js';
export {
  KINDS,
  MEASURED_SHARE,
  defaultConfig,
  describeEpisode,
  describeScenario,
  drawScenario,
  type Episode,
  type EpisodeKind,
  type Scenario,
  type ScenarioConfig,
  type ScenarioMode,
} from './scenario.js';
export { runScenario, runSeed, type RunOptions, type SeedResult } from './run.js';
export { formatFailure, formatSummary, runBatch, type BatchOptions, type BatchSummary } from './batch.js';
export { measureFailover, percentile, type FailoverFigures, type FailoverSetting } from './failover.js';
export { main, parseCommand, type Command } from './command.js';
