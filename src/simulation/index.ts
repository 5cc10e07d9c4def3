/**
 * The simulation room's door: the cluster layer in deterministic simulation. Many nodes on one
 * event loop with virtual time and a seeded network, each running the real cluster code (Raft and
 * the replicated state, placement and rebalancing, shard following with the fenced raise, the
 * actor system with RunActors and AgentActors, the agent hub and its dispatcher) over the run
 * domain's in-memory store, with simulated agents, faults drawn from the seed, and a checker of
 * DESIGN §7's invariants 2, 3 and 6. A composition root like server/: it imports other rooms
 * through their doors, and nothing imports it but its entry point (cli.ts).
 */
export { runClusterSeed, runFlags, type ClusterRunOptions, type ClusterSeedResult } from './cluster-run.js';
export { runClusterBatch, formatFailure, formatSummary, onlyKnown, replayCommand, type ClusterBatchOptions, type ClusterBatchSummary } from './batch.js';
export { clusterMain, parseClusterCommand, type ClusterCommand } from './command.js';
export { splitLayer } from './layer.js';
export { FINDINGS, NOTES, findingOf, type Finding } from './findings.js';
export { ClusterChecker, type Invariant, type Violation } from './checker.js';
export { drawScenario, describeScenario, DEFAULT_SHAPE, type ClusterScenario, type ScenarioShape, type Episode } from './scenario.js';
export { DEFAULT_TIMING, type ClusterTiming } from './sim-node.js';
