/**
 * The agent ↔ orchestrator wire protocol (`/ws`): zod schemas of every message in each direction,
 * close codes, frame parsing and the published JSON Schema. Names and fields are KiCI's.
 * Exports are listed by name so generic names stay inside and cannot collide with the peer protocol.
 */
export { CloseCode, MAX_CLOSE_REASON_BYTES, closeReason } from './close-codes.js';
export type { CloseCodeName, CloseCodeValue } from './close-codes.js';
export {
  PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  MAX_PROTOCOL_VERSION,
  JOB_STATES,
  TERMINAL_JOB_STATES,
  STEP_STATES,
  TERMINAL_STEP_STATES,
  isTerminalJobState,
  isTerminalStepState,
} from './common.js';
export type { JobState, StepState } from './common.js';
export {
  jobConfig as wireJobConfig,
  stepConfig as wireStepConfig,
  retrySpec as wireRetrySpec,
  neededJob as wireNeededJob,
  gitAuth as wireGitAuth,
} from './job-config.js';
export type { JobConfig, StepConfig, RetrySpec, NeededJob, GitAuth } from './job-config.js';
export {
  agentMessage,
  authRequestMessage,
  agentRegisterMessage,
  jobAckMessage,
  jobRejectMessage,
  jobStatusMessage,
  stepStatusMessage,
  logChunkMessage,
  jobHeartbeatMessage,
  agentLogMessage,
  configAckMessage,
  JOB_REJECT_REASONS,
} from './agent-messages.js';
export type {
  AgentMessage,
  AgentMessageInput,
  AgentRegister,
  InFlightJob,
  JobRejectReason,
  JobStatus,
  StepStatus,
  StepResult,
  LogChunk,
} from './agent-messages.js';
export {
  orchestratorMessage,
  authSuccessMessage,
  authFailureMessage,
  registerAckMessage,
  jobDispatchMessage,
  jobCancelMessage,
  rateLimitWarningMessage,
  DEFAULT_MAX_LOG_SIZE_BYTES,
} from './orchestrator-messages.js';
export type {
  OrchestratorMessage,
  OrchestratorMessageInput,
  JobDispatch,
  JobCancel,
} from './orchestrator-messages.js';
export { parseAgentFrame, parseOrchestratorFrame } from './frames.js';
export type { FrameResult } from './frames.js';
export { protocolJsonSchema } from './json-schema.js';

import type { AgentMessage } from './agent-messages.js';
import type { OrchestratorMessage } from './orchestrator-messages.js';
/** One message kind of a direction, by its `type`. */
export type AgentMessageOf<T extends AgentMessage['type']> = Extract<AgentMessage, { type: T }>;
export type OrchestratorMessageOf<T extends OrchestratorMessage['type']> = Extract<
  OrchestratorMessage,
  { type: T }
>;
