/**
 * The simulator's door: a deterministic discrete-event simulation of a Raft cluster running the
 * real core (RawNode under the simulator's loop, or the production RaftDriver), with a faulty
 * network, fsync-modelling storage, crash/pause/membership faults and a safety checker. Like the
 * rest of raft/, it imports only `node:` built-ins and raft/ files.
 */
export { SimRandom } from './random.js';
export { EventQueue, type SimEvent } from './events.js';
export { SimStorage } from './storage.js';
export { SimNetwork, type NetworkParams, type NetworkStats } from './network.js';
export { SafetyChecker, fingerprint, type LogView, type Violation } from './checker.js';
export { SimHost, decodeDigest, encodeDigest, type HostEvents, type HostTiming } from './host.js';
export { DriverHost } from './driver-host.js';
export type { HostState, SimServer } from './server.js';
export { MAX_JOINS, SimCluster, describe as describeMessage, type Ack, type ClusterListener, type ClusterOptions } from './cluster.js';
export { rawNodeFactory, type CoreFactory, type CoreNode } from './core.js';
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
