import { join } from 'node:path';
import type { Clock, Random } from '../clock/index.js';
import { silentLogger, type AgentLogger } from './agent-log.js';
import { resolveAgentId } from './agent-id.js';
import { AgentConnection, type ConnectionEnd } from './connection.js';
import { JobRunner } from './job-runner.js';
import { agentLabels } from './labels.js';
import { Outbox } from './outbox.js';
import { OutboxFiles } from './outbox-files.js';
import type { StepSandbox } from './sandbox/index.js';

export interface AgentOptions {
  /** One orchestrator URL, or several: the agent fails over between them in turn. */
  url: string | string[];
  token: string;
  workDir: string;
  labels?: string[];
  maxConcurrency?: number;
  agentId?: string;
  logger?: AgentLogger;
  clock?: Clock;
  random?: Random;
  /** The environment the agent was started with; only its allowlisted names reach steps. */
  hostEnv?: NodeJS.ProcessEnv;
  /** Where steps run; without one they run directly on the host (the CLI picks one, see --sandbox). */
  sandbox?: StepSandbox;
  jobHeartbeatIntervalMs?: number;
  heartbeatIntervalMs?: number;
  reconnectBaseMs?: number;
  maxReconnectDelayMs?: number;
  sendRatePerSecond?: number;
  sendBurst?: number;
  statusResendMs?: number;
  /** KICI_AGENT_PING_TIMEOUT_MS: a link silent this long is taken for dead and replaced. */
  pingTimeoutMs?: number;
  /** KICI_AGENT_OUTBOX_MAX_BYTES: above this many bytes of unacknowledged final statuses, no new jobs. */
  outboxMaxBytes?: number;
}

export interface RunningAgent {
  agentId: string;
  labels: string[];
  connection: AgentConnection;
  runner: JobRunner;
  /** Settles when the agent stops for good (shutdown, or its token was refused). */
  ended: Promise<ConnectionEnd>;
  /**
   * Stop taking jobs, stop the running ones (SIGTERM, grace, SIGKILL), let their final statuses
   * out for up to `settleMs`, then close with 1000.
   */
  shutdown(options?: { force?: boolean; settleMs?: number }): Promise<void>;
}

/** Wire the connection and the job runner together and connect. */
export function startAgent(options: AgentOptions): RunningAgent {
  const logger = options.logger ?? silentLogger;
  const agentId = resolveAgentId(options.workDir, options.agentId);
  const labels = agentLabels(options.labels ?? [], process.platform, process.arch);
  const maxConcurrency = options.maxConcurrency ?? 1;
  const urls = typeof options.url === 'string' ? [options.url] : options.url;
  // Final statuses survive a restart of the agent: they wait here, fsync'd, until acknowledged.
  const outbox = new Outbox({ files: new OutboxFiles(join(options.workDir, 'outbox')), maxBytes: options.outboxMaxBytes, logger });
  const restored = outbox.restore();
  if (restored > 0) {
    logger.info({ statuses: restored, jobs: outbox.unackedJobs().length }, 'outbox: final statuses of an earlier process of this agent will be sent once registered');
  }
  let connection: AgentConnection | undefined;
  const runner = new JobRunner({
    workDir: options.workDir,
    agentId,
    maxConcurrency,
    port: { send: (message) => connection?.send(message) },
    clock: options.clock,
    hostEnv: options.hostEnv,
    sandbox: options.sandbox,
    heartbeatIntervalMs: options.jobHeartbeatIntervalMs,
    logger,
    roomForResults: () => !outbox.full,
  });
  const leftovers = runner.removeLeftoverCheckouts();
  if (leftovers > 0) logger.info({ removed: leftovers }, 'removed checkouts left by an earlier process of this agent');
  connection = new AgentConnection({
    urls,
    token: options.token,
    agentId,
    labels,
    maxConcurrency,
    inFlightJobs: () => runner.inFlight(),
    currentStep: (jobId) => runner.currentStep(jobId),
    onDispatch: (dispatch) => runner.dispatch(dispatch),
    onCancel: (cancel) => runner.cancel(cancel),
    clock: options.clock,
    random: options.random,
    logger,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    reconnectBaseMs: options.reconnectBaseMs,
    maxReconnectDelayMs: options.maxReconnectDelayMs,
    sendRatePerSecond: options.sendRatePerSecond,
    sendBurst: options.sendBurst,
    statusResendMs: options.statusResendMs,
    pingTimeoutMs: options.pingTimeoutMs,
    outbox,
  });
  // Timers of the injected clock do not hold the process open; this does, until the agent ends.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const conn = connection;
  void conn.ended.then(() => clearInterval(keepAlive));
  conn.start();
  logger.info({ agentId, labels, maxConcurrency, urls }, 'agent starting');

  const shutdown = async ({ force = false, settleMs = 35_000 } = {}): Promise<void> => {
    runner.drain();
    runner.cancelAll('agent_shutdown', force);
    await Promise.race([runner.idle(), new Promise((r) => setTimeout(r, settleMs).unref())]);
    await conn.stop();
  };
  return { agentId, labels, connection: conn, runner, ended: conn.ended, shutdown };
}
