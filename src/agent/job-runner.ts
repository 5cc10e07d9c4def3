import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock/index.js';
import { silentLogger, type AgentLogger } from './agent-log.js';
import { CheckoutError, checkoutCommit } from './checkout.js';
import { JobControl } from './job-control.js';
import { SecretMasker } from '../masking/index.js';
import type {
  AgentMessage,
  InFlightJob,
  JobCancel,
  JobDispatch,
  JobRejectReason,
  JobState,
  StepResult,
  StepState,
} from '../transport/index.js';
import type { StepSandbox } from './sandbox/index.js';
import { executeStep, type StepExecution } from './step-executor.js';

export const DEFAULT_JOB_TIMEOUT_MS = 6 * 60 * 60 * 1000;
export const DEFAULT_JOB_HEARTBEAT_INTERVAL_MS = 60_000;
/** Seconds; KiCI's bare-metal cap, and the lock file's maximum. */
const MAX_GRACE_SECONDS = 30;
/** Runs whose epochs we remember; old ones fall out first. */
const EPOCH_MEMORY = 10_000;

/** Where the runner's messages go: the connection decides what is sent, buffered or kept. */
export interface AgentPort {
  send(message: AgentMessage): void;
}

export interface JobRunnerOptions {
  workDir: string;
  /** This agent's id, shown to steps as KICI_AGENT_ID. */
  agentId?: string;
  maxConcurrency: number;
  port: AgentPort;
  clock?: Clock;
  /** The agent's own environment; only the allowlisted names reach a step. */
  hostEnv?: NodeJS.ProcessEnv;
  /** Where steps run; without one, directly on the host. */
  sandbox?: StepSandbox;
  heartbeatIntervalMs?: number;
  logger?: AgentLogger;
  /**
   * False while the agent cannot promise to keep one more result (its outbox is over its bound):
   * dispatches are refused as busy, so the orchestrator places them elsewhere.
   */
  roomForResults?: () => boolean;
}

export type DispatchDecision = 'accepted' | 'duplicate' | JobRejectReason;

interface RunningJob {
  dispatch: JobDispatch;
  control: JobControl;
  /** The step being run (0 during checkout). */
  stepIndex: number;
  /**
   * The dispatch's secret values, masked in every log line and error text of this job before it
   * leaves the runner; gone with the job.
   */
  masker: SecretMasker;
}

/**
 * Takes `job.dispatch` and runs each accepted job: ack at once, clone, steps in order, one final
 * `job.status`, clean up. Slots are counted here, so a dispatch beyond `maxConcurrency` is refused.
 */
export class JobRunner {
  private readonly running = new Map<string, RunningJob>();
  private readonly epochs = new Map<string, number>();
  /** Each job until its work dir is gone, which can be after its slot was given back. */
  private readonly finishing = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly logger: AgentLogger;
  private draining = false;

  constructor(private readonly options: JobRunnerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Remove the checkouts an earlier process of this agent left behind (it was killed mid-job):
   * nothing of theirs runs any more, and the orchestrator dispatches those jobs again or fails
   * them. Only before the first job of this process. Returns how many were removed.
   */
  removeLeftoverCheckouts(): number {
    if (this.running.size > 0) return 0;
    const jobsDir = join(this.options.workDir, 'jobs');
    if (!existsSync(jobsDir)) return 0;
    const leftovers = readdirSync(jobsDir);
    for (const name of leftovers) rmSync(join(jobsDir, name), { recursive: true, force: true });
    return leftovers.length;
  }

  /** Jobs that hold a slot: they have not sent their final status yet. */
  inFlight(): InFlightJob[] {
    return [...this.running.values()].map(({ dispatch }) => ({ jobId: dispatch.jobId, runId: dispatch.runId }));
  }

  /** The step a running job is on; undefined for a job not running here. */
  currentStep(jobId: string): number | undefined {
    return this.running.get(jobId)?.stepIndex;
  }

  get busySlots(): number {
    return this.running.size;
  }

  dispatch(dispatch: JobDispatch): DispatchDecision {
    const decision = this.decide(dispatch);
    const { jobId, runId } = dispatch;
    const envelope = { messageId: randomUUID(), timestamp: this.clock.now(), jobId, runId };
    if (decision === 'accepted' || decision === 'duplicate') {
      this.send({ type: 'job.ack', ...envelope });
    } else {
      this.send({ type: 'job.reject', ...envelope, reason: decision });
    }
    if (decision === 'accepted') this.start(dispatch);
    this.logger.info({ runId, jobId, epoch: dispatch.epoch, decision }, 'job dispatch');
    return decision;
  }

  cancel(cancel: JobCancel): boolean {
    if (cancel.epoch < (this.epochs.get(cancel.runId) ?? 0)) {
      this.logger.warn({ runId: cancel.runId, jobId: cancel.jobId, epoch: cancel.epoch }, 'cancel from a stale epoch ignored');
      return false;
    }
    const job = this.running.get(cancel.jobId);
    if (!job || job.dispatch.runId !== cancel.runId) return false;
    this.logger.info({ runId: cancel.runId, jobId: cancel.jobId, force: cancel.force ?? false }, 'job cancel');
    job.control.stop({ kind: 'cancel', reason: cancel.reason || 'cancelled', force: cancel.force ?? false });
    return true;
  }

  /** Refuse new jobs from now on (shutdown); running ones go on unless cancelled. */
  drain(): void {
    this.draining = true;
  }

  /** Stop every running job, e.g. when the agent itself is going away. */
  cancelAll(reason: string, force: boolean): void {
    for (const job of this.running.values()) job.control.stop({ kind: 'cancel', reason, force });
  }

  /** Settles when every job has reported and cleaned up. */
  async idle(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  private decide(dispatch: JobDispatch): DispatchDecision {
    if (this.draining) return 'draining';
    const seen = this.epochs.get(dispatch.runId) ?? 0;
    if (dispatch.epoch < seen) return 'stale_epoch';
    this.rememberEpoch(dispatch.runId, dispatch.epoch);
    // A job already running here is acked again, never started twice.
    if (this.running.has(dispatch.jobId)) return 'duplicate';
    if (this.running.size >= this.options.maxConcurrency) return 'busy';
    if (this.options.roomForResults?.() === false) return 'busy';
    return 'accepted';
  }

  private rememberEpoch(runId: string, epoch: number): void {
    this.epochs.delete(runId);
    this.epochs.set(runId, Math.max(epoch, this.epochs.get(runId) ?? 0));
    if (this.epochs.size > EPOCH_MEMORY) this.epochs.delete(this.epochs.keys().next().value as string);
  }

  private start(dispatch: JobDispatch): void {
    const grace = Math.min(dispatch.jobConfig.gracePeriod ?? MAX_GRACE_SECONDS, MAX_GRACE_SECONDS);
    const control = new JobControl(grace * 1000);
    const job: RunningJob = { dispatch, control, stepIndex: 0, masker: SecretMasker.of(dispatch.secrets) };
    this.running.set(dispatch.jobId, job);
    const finished = this.runJob(job)
      .catch((err: unknown) => {
        this.logger.error({ runId: dispatch.runId, jobId: dispatch.jobId, err: job.masker.mask(String(err)) }, 'job runner fault');
      })
      .finally(() => this.finishing.delete(finished));
    this.finishing.add(finished);
  }

  private async runJob({ dispatch, control, masker }: RunningJob): Promise<void> {
    const { runId, jobId } = dispatch;
    this.sendJobStatus(dispatch, 'running');
    const stopHeartbeat = this.startHeartbeat(dispatch);
    const cancelTimeout = this.clock.setTimer(dispatch.jobConfig.timeout ?? DEFAULT_JOB_TIMEOUT_MS, () =>
      control.stop({ kind: 'timeout', reason: 'job_timeout', force: true }),
    );
    let root: string | undefined;
    try {
      mkdirSync(join(this.options.workDir, 'jobs'), { recursive: true });
      root = mkdtempSync(join(this.options.workDir, 'jobs', `${safeName(jobId)}-`));
      const result = await this.runInside(dispatch, control, masker, root);
      // The slot is given back before the final status goes out: an orchestrator that dispatches
      // the next job the moment it reads this status must find the slot free.
      this.running.delete(jobId);
      this.sendJobStatus(dispatch, result.state, { ...result, error: maskError(masker, result.error) });
    } catch (err) {
      this.running.delete(jobId);
      this.sendJobStatus(dispatch, 'failed', { outputs: {}, stepResults: [], error: masker.mask(`agent_error: ${String(err)}`) });
    } finally {
      stopHeartbeat();
      cancelTimeout();
      this.running.delete(jobId);
      if (root) await rm(root, { recursive: true, force: true }).catch(() => undefined);
      this.logger.info({ runId, jobId }, 'job finished');
    }
  }

  private async runInside(dispatch: JobDispatch, control: JobControl, masker: SecretMasker, root: string): Promise<JobResult> {
    const checkoutDir = join(root, 'checkout');
    const metaDir = join(root, 'meta');
    mkdirSync(metaDir);
    const setupError = await this.prepareCheckout(dispatch, control, checkoutDir);
    const needsFile = join(metaDir, 'needs.json');
    writeFileSync(needsFile, JSON.stringify(dispatch.needs ?? {}));
    const sandbox = this.options.sandbox && { box: this.options.sandbox, homeDir: join(root, 'home') };
    // One home for all the job's steps (a cache one step fills, the next finds); gone with the job.
    if (sandbox) mkdirSync(sandbox.homeDir, { mode: 0o700 });
    return this.runSteps(dispatch, control, masker, { checkoutDir, metaDir, needsFile, sandbox }, maskError(masker, setupError));
  }

  private async prepareCheckout(dispatch: JobDispatch, control: JobControl, dir: string): Promise<string | undefined> {
    if (dispatch.jobConfig.checkout === false) {
      mkdirSync(dir);
      return undefined;
    }
    try {
      await checkoutCommit({ repoUrl: dispatch.repoUrl, sha: dispatch.sha, dir, gitAuth: dispatch.gitAuth, hostEnv: this.hostEnv, control, clock: this.clock });
      return undefined;
    } catch (err) {
      const message = err instanceof CheckoutError ? err.message : String(err);
      return `checkout_failed: ${message}`;
    }
  }

  private async runSteps(
    dispatch: JobDispatch,
    control: JobControl,
    masker: SecretMasker,
    paths: Pick<StepExecution, 'checkoutDir' | 'metaDir' | 'needsFile' | 'sandbox'>,
    setupError: string | undefined,
  ): Promise<JobResult> {
    const stepResults: StepResult[] = [];
    const outputs: Record<string, string> = {};
    let failure = setupError;
    // Set by a failed setup or a failed step without continueOnError: the rest is skipped.
    let blocked = setupError !== undefined;
    // Logs are stored per step; the first step's log is where a reader looks for why nothing ran.
    if (setupError !== undefined) this.send(this.logLine(dispatch, 0, `[kici] ${setupError}`));
    for (const [index, step] of dispatch.jobConfig.steps.entries()) {
      const name = step.name ?? `step-${index + 1}`;
      if (blocked || control.stopped) {
        stepResults.push(this.reportStep(dispatch, { index, name, state: 'skipped' }));
        continue;
      }
      const entry = this.running.get(dispatch.jobId);
      if (entry) entry.stepIndex = index;
      this.reportStep(dispatch, { index, name, state: 'running' });
      const outcome = await executeStep({ dispatch, step, index, ...paths, agentId: this.options.agentId, hostEnv: this.hostEnv, control, clock: this.clock, sendLog: (c) => this.send(c), masker });
      // Outputs go to the orchestrator, the API and later jobs' environments: no secret in them either.
      const stepOutputs = maskOutputs(masker, outcome.outputs);
      Object.assign(outputs, stepOutputs);
      const { state, exitCode, attempts, durationMs, error } = outcome;
      stepResults.push(this.reportStep(dispatch, { index, name, state, exitCode, attempts, durationMs, outputs: stepOutputs, error }, outcome.logBytes));
      if (state === 'failed') {
        failure ??= `step_failed: ${name}`;
        blocked ||= !step.continueOnError;
      }
    }
    return { ...finalState(control, failure), outputs, stepResults };
  }

  private reportStep(dispatch: JobDispatch, result: StepResult & { state: StepState }, logBytes?: number): StepResult {
    this.send({
      type: 'step.status',
      messageId: randomUUID(),
      timestamp: this.clock.now(),
      runId: dispatch.runId,
      jobId: dispatch.jobId,
      stepIndex: result.index,
      stepName: result.name,
      state: result.state,
      exitCode: result.exitCode,
      attempt: result.attempts || undefined,
      durationMs: result.durationMs,
      logBytesStreamed: logBytes,
      error: result.error,
    });
    return result;
  }

  private sendJobStatus(dispatch: JobDispatch, state: JobState, result?: Omit<JobResult, 'state'>): void {
    this.send({
      type: 'job.status',
      messageId: randomUUID(),
      timestamp: this.clock.now(),
      runId: dispatch.runId,
      jobId: dispatch.jobId,
      state,
      data: result ? { outputs: result.outputs, stepResults: result.stepResults } : undefined,
      error: result?.error,
    });
  }

  private logLine(dispatch: JobDispatch, stepIndex: number, line: string): AgentMessage {
    const { runId, jobId } = dispatch;
    return { type: 'log.chunk', messageId: randomUUID(), timestamp: this.clock.now(), runId, jobId, stepIndex, lines: [line] };
  }

  private startHeartbeat(dispatch: JobDispatch): () => void {
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_JOB_HEARTBEAT_INTERVAL_MS;
    let cancel = (): void => undefined;
    const beat = (): void => {
      this.send({ type: 'job.heartbeat', runId: dispatch.runId, jobId: dispatch.jobId, timestamp: this.clock.now() });
      cancel = this.clock.setTimer(interval, beat);
    };
    cancel = this.clock.setTimer(interval, beat);
    return () => cancel();
  }

  private send(message: AgentMessage): void {
    this.options.port.send(message);
  }

  private get hostEnv(): NodeJS.ProcessEnv {
    return this.options.hostEnv ?? process.env;
  }
}

interface JobResult {
  state: JobState;
  outputs: Record<string, string>;
  stepResults: StepResult[];
  error?: string;
}

function finalState(control: JobControl, failure: string | undefined): Pick<JobResult, 'state' | 'error'> {
  const stop = control.stopped;
  if (stop?.kind === 'cancel') return { state: 'cancelled', error: `cancelled: ${stop.reason}` };
  if (stop?.kind === 'timeout') return { state: 'failed', error: stop.reason };
  if (failure !== undefined) return { state: 'failed', error: failure };
  return { state: 'success' };
}

/** An error text about the job (a checkout's git output, a spawn error) with its secrets masked. */
function maskError(masker: SecretMasker, error: string | undefined): string | undefined {
  return error === undefined ? undefined : masker.mask(error);
}

function maskOutputs(masker: SecretMasker, outputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, masker.mask(value)]));
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'job';
}
