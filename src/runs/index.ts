/** The run domain's door: the execution state machine, needs gating, the RunActor and its environment gates. */
export {
  EXEC_STATES,
  EXEC_EVENTS,
  TERMINAL_STATES,
  TRANSITIONS,
  InvalidTransitionError,
  transition,
  canTransition,
  isTerminalState,
} from './state-machine.js';
export type { ExecState, ExecEvent } from './state-machine.js';
export {
  RUN_STATUSES,
  JOB_STATUSES,
  STEP_STATUSES,
  TERMINAL_RUN_STATUSES,
  TERMINAL_JOB_STATUSES,
  TERMINAL_STEP_STATUSES,
  FAILING_JOB_STATUSES,
  isTerminalJobStatus,
  isTerminalRunStatus,
  jobState,
  jobStatusToState,
  stateToJobStatus,
  runOutcome,
  runFailureSummary,
} from './statuses.js';
export type { RunStatus, JobStatus, StepStatus } from './statuses.js';
export { rootJobs, onJobTerminal, recomputeNeeds } from './needs-scheduler.js';
export type { SchedulerJob, NeedsEdge, NeedsDecision, SchedulerOptions } from './needs-scheduler.js';
export { needsPayload, jobLabels } from './needs-payload.js';
export { RUN_ACTOR_KIND, RunActor, runActorFactory, registerRunActor, runRef } from './run-actor.js';
export type { RunActorDeps, RunActorOptions } from './run-core.js';
export { AGENT_RESTARTED_ERROR, RECOVERY_EXPIRED_ERROR, STALE_ERROR, UNANSWERED_DISPATCH_ERROR, WORKFLOW_TIMEOUT_REASON } from './messages.js';
export type { RunMessage, RunReply, FinishedJobStatus, AgentClaim, VotedHold } from './messages.js';
export { finishedJobStatus, isAgentHostMessage } from './messages.js';
export { claimOf, FINISHED_GRACE_MS, type Claim } from './job-claims.js';
export { planRerun, RerunRefusedError } from './rerun-plan.js';
export type { RerunJob, RerunPlan } from './rerun-plan.js';
export { ConcurrencyGroups, SUPERSEDED_REASON, groupOf, groupKey, groupOfKey, groupedRun } from './concurrency-groups.js';
export type { GroupedRun, Admission, AdmissionRun, GroupIdentity } from './concurrency-groups.js';
export {
  CONCURRENCY_GROUP_KIND,
  RECHECK_MS,
  ConcurrencyGroupActor,
  registerConcurrencyGroupActor,
  concurrencyGroupRef,
} from './concurrency-group-actor.js';
export type { ConcurrencyGroupPorts, GroupMessage, GroupSnapshot, AdmitOutcome } from './concurrency-group-actor.js';
export { RunAdmission, ADMISSION_ASK_MS } from './run-admission.js';
export { openConcurrencyGate, admissionRun, type GateStore, type GatedRun } from './concurrency-gate.js';
export type { RunAdmissionPorts } from './run-admission.js';
export { tellRunsAgentLost, tellRunsAgentBack, tellRunsAgentRestarted } from './agent-events.js';
export type { AgentJob, TellRun } from './agent-events.js';
export { failedRunError, MAX_RUN_ERROR_LENGTH } from './fail-at-start.js';
export { cancelRunVia, CANCEL_ASK_MS } from './cancel.js';
export { voteOnHoldVia, HOLD_VOTE_ASK_MS, type HoldVoteRequest, type HoldVoteResult } from './hold-votes.js';
export { runSweeps, type OverdueJobs, type RunSweep } from './sweeps.js';
export type { EnvironmentGatePorts, EnvironmentLookup, EnvGroupClient, GateSlot, JobGate, SlotRequest } from './gate-ports.js';
export { GATES_UNAVAILABLE, gatedNames, gateEventOf, holdError } from './job-gating.js';
export { JobInputsUnavailable, secretNamesOf, type JobInputRequest, type JobInputs, type JobInputSource } from './job-inputs.js';
export { storedEnvGroup, type StoredSlot } from './env-group-load.js';
export { MemoryRunStore, DEFAULT_SHARD, type AcceptedWrite, type HeldJob, type MemoryRunStoreOptions, type StoreWriteKind } from './memory-run-store.js';
export type {
  RunStore,
  RunRecord,
  JobRecord,
  StepRecord,
  LoadedRun,
  JobPatch,
  HoldChange,
  GateOutcome,
  StepPatch,
  WriteFence,
  JobWriteGuard,
  Dispatcher,
  DispatchResult,
  UnansweredDispatch,
  RecordPlacement,
  JobDispatchRequest,
  JobCancelRequest,
  LabelMatcher,
  NeedsFile,
  NeedsEntry,
  Outputs,
  RunObserver,
  StepLogSink,
  ForeignClaim,
} from './ports.js';
