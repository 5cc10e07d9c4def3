/**
 * What a chaos campaign (`npm run chaos`) records and reports: per scenario, the fault schedule the
 * seed generated, what each fault did and how long the cluster took to recover from it, the
 * workload's figures, throughput and leadership over time, and the invariants' verdicts. The JSON
 * report is this shape, as is; the terminal summary and the timeline picture are drawn from it.
 */
import type { InvariantReport } from './report.js';

/** The fault vocabulary (nemeses) a schedule draws from. */
export const FAULT_KINDS = [
  'kill-node',
  'kill-leader',
  'pause-node',
  'partition-leader',
  'one-way-partition',
  'flapping-link',
  'delay',
  'bandwidth',
  'half-open',
  'restart-postgres',
  'kill-agent',
  'redeliver',
  'clock-skew',
  'freeze-worker',
  'starve-node',
  'half-open-peer',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault of the schedule: what, to whom, when (ms after the workload starts) and for how long. */
export interface FaultEvent {
  /** 1, 2, … in schedule order. */
  id: number;
  atMs: number;
  kind: FaultKind;
  /** A node, agent or link (`node-2`, `agent-3`, `node-1→node-3`), or `cluster`/`postgres`. */
  target: string;
  /** How long the fault lasts before it is healed (0: instantaneous, e.g. a kill with immediate restart). */
  holdMs: number;
  /** One line for people: "SIGSTOP node-2 for 1500 ms (election timeout 500–1000 ms)". */
  detail: string;
  /** clock-skew only: how far off the node's clock is set (ms; negative: behind). */
  clockOffsetMs?: number;
}

/** What became of one scheduled fault when it ran. */
export interface FaultOutcome {
  id: number;
  kind: FaultKind;
  target: string;
  /** When it was injected and healed, ms after the workload starts (null: never healed — the run ended first). */
  startedMs: number;
  healedMs: number | null;
  /**
   * When the cluster was whole again after the heal: one leader every coordinator agrees on, every
   * node ready, every agent registered (null: not within the run).
   */
  recoveredMs: number | null;
  /** recoveredMs − healedMs. */
  recoveryMs: number | null;
  /** Anything the nemesis noticed (the leader it picked, a process that would not restart). */
  notes: string[];
}

/** Cumulative counts at one moment of the run (sampled about once a second). */
export interface ThroughputSample {
  atMs: number;
  webhooksAccepted: number;
  runsCompleted: number;
}

/** The leader at one moment, as the first coordinator that answers names it (null: none named one; a deposed leader not yet told may still be named). */
export interface LeaderSample {
  atMs: number;
  leader: string | null;
  term: number;
}

export interface CampaignFigures {
  webhooksSent: number;
  /** Answered 202 (or 200 for a duplicate of one accepted). */
  webhooksAccepted: number;
  /** Answered anything else, or not answered (the node was down): the workload retries those. */
  webhooksRefused: number;
  /** Deliveries sent again on purpose (the redeliver nemesis): duplicates and out-of-order repeats. */
  redeliveries: number;
  runsCreated: number;
  runsCompleted: number;
  /** Step executions the journal shows. */
  jobsRun: number;
  leaderChanges: number;
  orphansReclaimed: number;
  /** Over the faults that recovered: p50 and max of recoveryMs (null when none did). */
  recovery: { p50Ms: number; maxMs: number; count: number } | null;
  /**
   * How late the harness's own event loop ran (p99 and max, ms): the proxies on every link live in
   * it, so a stalled harness is a fault of its own that no schedule asked for.
   */
  harnessLag: { p99Ms: number; maxMs: number };
  /**
   * The harness's reviewer (invariant 5): the holds it planned to approve, reject, leave to expire
   * or vote on around their expiry; those voted on at once when the workload ended; its votes'
   * answers by HTTP status (`no answer`: refused connection or timeout, asked again elsewhere).
   */
  reviews?: { plans: Record<'approve' | 'reject' | 'expire' | 'race', number>; hurried: number; answers: Record<string, number> };
}

export interface Topology {
  nodes: number;
  workers: number;
  agents: number;
}

export interface ScenarioReport {
  scenario: string;
  seed: number;
  /** Length of the workload with faults, then the settling time after it. */
  durationMs: number;
  settleMs: number;
  topology: Topology;
  /** New webhook deliveries per second. */
  rate: number;
  schedule: FaultEvent[];
  faults: FaultOutcome[];
  figures: CampaignFigures;
  throughput: ThroughputSample[];
  leaders: LeaderSample[];
  invariants: InvariantReport[];
  /** failed: an invariant broke, or the run itself failed (`error`). */
  verdict: 'passed' | 'failed';
  error?: string;
  /** Where its data (logs, journal, database) was kept, when kept. */
  dataDir?: string;
}

export interface CampaignReport {
  version: 1;
  /** ISO time the campaign started. */
  startedAt: string;
  /** `--seed` (each scenario's own seed is derived from it). */
  seed: number;
  profile: string | null;
  scenarios: ScenarioReport[];
  passed: boolean;
}
