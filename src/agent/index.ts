/**
 * The agent program: connects to an orchestrator's `/ws`, takes jobs, clones, runs steps in their
 * own process groups with exactly the step environment of DESIGN §5b (in a bubblewrap sandbox when
 * one is available), streams logs, reports.
 */
export { startAgent } from './agent.js';
export type { AgentOptions, RunningAgent } from './agent.js';
export { AgentConnection, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_EVENT_BUFFER_SIZE } from './connection.js';
export type { ConnectionOptions, ConnectionState, ConnectionEnd } from './connection.js';
export { JobRunner, DEFAULT_JOB_TIMEOUT_MS, DEFAULT_JOB_HEARTBEAT_INTERVAL_MS } from './job-runner.js';
export type { AgentPort, DispatchDecision, JobRunnerOptions } from './job-runner.js';
export { executeStep, retryDelayMs, stepDirectory, DEFAULT_STEP_TIMEOUT_MS } from './step-executor.js';
export type { StepExecution, StepOutcome } from './step-executor.js';
export { JobControl } from './job-control.js';
export type { JobStop } from './job-control.js';
export { StepLogStreamer } from './log-streamer.js';
export { HOST_ALLOWLIST, buildStepEnv, envName, isReservedName, matrixEnv, needsEnv, parseOutputFile } from './step-environment.js';
export { resolveAgentId, isValidAgentId } from './agent-id.js';
export { agentLabels, parseLabelList } from './labels.js';
export { reconnectDelay } from './reconnect-delay.js';
export { RingBuffer } from './ring-buffer.js';
export { Outbox, DEFAULT_OUTBOX_MAX_BYTES } from './outbox.js';
export type { OutboxOptions } from './outbox.js';
export { OutboxFiles } from './outbox-files.js';
export type { OutboxLoad, StatusMessage, StoredStatus } from './outbox-files.js';
export { LinkWatch, DEFAULT_PING_TIMEOUT_MS } from './link-watch.js';
export type { LinkWatchPorts } from './link-watch.js';
export { checkoutCommit, CheckoutError } from './checkout.js';
export { shellArgv } from './shell.js';
export { BwrapSandbox, chooseSandbox, probeSandbox, SANDBOX_MODES } from './sandbox/index.js';
export type { SandboxChoice, SandboxMode, SandboxedRun, StepSandbox, WrappedRun } from './sandbox/index.js';
export { readAgentToken } from './token-source.js';
export { AGENT_VERSION } from './version.js';
export { silentLogger } from './agent-log.js';
export type { AgentLogger } from './agent-log.js';
export { runAgentCli, parseAgentArgs, EXIT_USAGE, EXIT_AUTH_FAILED } from './cli.js';
export type { AgentArgs, ParsedArgs } from './cli.js';
