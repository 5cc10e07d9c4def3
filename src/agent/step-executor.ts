import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Clock } from '../clock/index.js';
import type { SecretMasker } from '../masking/index.js';
import type { JobControl } from './job-control.js';
import { StepLogStreamer, type LogChunkMessage } from './log-streamer.js';
import { runProcess, type ProcessResult } from './process-run.js';
import type { StepSandbox } from './sandbox/index.js';
import type { JobDispatch, RetrySpec, StepConfig } from '../transport/index.js';
import { shellArgv } from './shell.js';
import { buildStepEnv, parseOutputFile } from './step-environment.js';

export const DEFAULT_STEP_TIMEOUT_MS = 30 * 60 * 1000;

export interface StepExecution {
  dispatch: JobDispatch;
  step: StepConfig;
  index: number;
  checkoutDir: string;
  /** A directory outside the checkout for this job's scripts and output files. */
  metaDir: string;
  needsFile: string;
  /** Present when steps run sandboxed: the sandbox, and this job's private home directory. */
  sandbox?: { box: StepSandbox; homeDir: string };
  hostEnv: NodeJS.ProcessEnv;
  agentId?: string;
  control: JobControl;
  clock: Clock;
  sendLog: (chunk: LogChunkMessage) => void;
  /** The job's secrets, masked in the step's output and error before either leaves the step. */
  masker?: SecretMasker;
}

export interface StepOutcome {
  state: 'success' | 'failed' | 'cancelled';
  exitCode: number | null;
  attempts: number;
  durationMs: number;
  outputs: Record<string, string>;
  logBytes: number;
  error?: string;
}

/** Delay before attempt n+1 after attempt n failed: fixed, or `min(delay·2^(n-1), maxDelayMs)`. */
export function retryDelayMs(retry: RetrySpec, failedAttempt: number): number {
  const delay = retry.delayMs ?? 0;
  if (retry.backoff !== 'exponential') return delay;
  return Math.min(delay * 2 ** (failedAttempt - 1), retry.maxDelayMs ?? Number.POSITIVE_INFINITY);
}

/** Run one step to its end: every attempt it is allowed, each with the full timeout. */
export async function executeStep(exec: StepExecution): Promise<StepOutcome> {
  const started = exec.clock.now();
  const log = new StepLogStreamer({
    runId: exec.dispatch.runId,
    jobId: exec.dispatch.jobId,
    stepIndex: exec.index,
    maxBytes: exec.dispatch.maxLogSizeBytes,
    clock: exec.clock,
    send: exec.sendLog,
    masker: exec.masker,
  });
  const done = (partial: Omit<StepOutcome, 'durationMs' | 'logBytes'>): StepOutcome => {
    log.finish();
    const outcome: StepOutcome = { ...partial, durationMs: exec.clock.now() - started, logBytes: log.bytesStreamed };
    // A spawn or sandbox error can quote what the step was given.
    if (outcome.error !== undefined && exec.masker) outcome.error = exec.masker.mask(outcome.error);
    return outcome;
  };

  const cwd = stepDirectory(exec.checkoutDir, exec.step.workingDirectory);
  if (!cwd.ok) {
    log.line(`[kici] ${cwd.error}`);
    return done({ state: 'failed', exitCode: null, attempts: 0, outputs: {}, error: cwd.error });
  }
  const maxAttempts = exec.step.retry?.maxAttempts ?? 1;
  for (let attempt = 1; ; attempt += 1) {
    const outputFile = join(exec.metaDir, `step-${exec.index}-attempt-${attempt}.out`);
    writeFileSync(outputFile, '');
    const result = await runAttempt(exec, cwd.dir, outputFile, log);
    const outputs = readOutputs(outputFile);
    const verdict = judge(result, exec.step.timeout ?? DEFAULT_STEP_TIMEOUT_MS);
    if (verdict.state !== 'failed' || result.stoppedBy || attempt >= maxAttempts) {
      if (verdict.error) log.line(`[kici] ${verdict.error}`);
      return done({ ...verdict, attempts: attempt, outputs });
    }
    const wait = retryDelayMs(exec.step.retry as RetrySpec, attempt);
    log.line(`[kici] attempt ${attempt} of ${maxAttempts} failed (${verdict.error}); retrying in ${wait} ms`);
    if (!(await pause(wait, exec.clock, exec.control))) {
      return done({ ...judge({ ...result, stoppedBy: exec.control.stopped }, 0), attempts: attempt, outputs });
    }
  }
}

function runAttempt(exec: StepExecution, cwd: string, outputFile: string, log: StepLogStreamer): Promise<ProcessResult> {
  let script: string | undefined;
  const scriptFile = (): string => {
    script = join(exec.metaDir, `step-${exec.index}.script`);
    writeFileSync(script, exec.step.run, { mode: 0o700 });
    return script;
  };
  const argv = shellArgv(exec.step.shell, exec.step.run, scriptFile);
  const env = buildStepEnv({ host: exec.hostEnv, dispatch: exec.dispatch, step: exec.step, stepIndex: exec.index, agentId: exec.agentId, needsFile: exec.needsFile, outputFile });
  let started: { argv: string[]; env: Record<string, string> } = { argv, env };
  if (exec.sandbox) {
    // The meta dir is hidden with the rest of the work dir: only this step's own files come back.
    const files = { readOnlyFiles: script ? [exec.needsFile, script] : [exec.needsFile], writableFiles: [outputFile] };
    try {
      started = exec.sandbox.box.wrap({ argv, env, cwd, checkoutDir: exec.checkoutDir, homeDir: exec.sandbox.homeDir, ...files });
    } catch (err) {
      return Promise.resolve({ exitCode: null, signal: null, timedOut: false, spawnError: `sandbox: ${(err as Error).message}` });
    }
  }
  return runProcess({
    argv: started.argv,
    cwd,
    env: started.env,
    timeoutMs: exec.step.timeout ?? DEFAULT_STEP_TIMEOUT_MS,
    clock: exec.clock,
    control: exec.control,
    onOutput: (stream, data) => log.write(stream, data),
  });
}

function judge(result: ProcessResult, timeoutMs: number): Pick<StepOutcome, 'state' | 'exitCode' | 'error'> {
  const exitCode = result.exitCode;
  if (result.stoppedBy?.kind === 'cancel') return { state: 'cancelled', exitCode, error: `cancelled: ${result.stoppedBy.reason}` };
  if (result.stoppedBy?.kind === 'timeout') return { state: 'failed', exitCode, error: result.stoppedBy.reason };
  if (result.spawnError) return { state: 'failed', exitCode: null, error: `could not start the step: ${result.spawnError}` };
  if (result.timedOut) return { state: 'failed', exitCode, error: `step timed out after ${timeoutMs} ms` };
  if (exitCode === 0) return { state: 'success', exitCode };
  if (exitCode === null) return { state: 'failed', exitCode, error: `killed by ${result.signal ?? 'a signal'}` };
  return { state: 'failed', exitCode, error: `exit code ${exitCode}` };
}

/** The step's directory: the checkout, or `workingDirectory` inside it; never outside. */
export function stepDirectory(checkoutDir: string, workingDirectory?: string): { ok: true; dir: string } | { ok: false; error: string } {
  if (workingDirectory === undefined) return { ok: true, dir: checkoutDir };
  const outside = { ok: false as const, error: `workingDirectory "${workingDirectory}" is outside the checkout` };
  const dir = resolve(checkoutDir, workingDirectory);
  if (!isInside(checkoutDir, dir)) return outside;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { ok: false, error: `workingDirectory "${workingDirectory}" does not exist in the checkout` };
  }
  // A symlink inside the checkout may still point out of it.
  if (!isInside(realpathSync(checkoutDir), realpathSync(dir))) return outside;
  return { ok: true, dir };
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function readOutputs(file: string): Record<string, string> {
  try {
    return parseOutputFile(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** Wait `ms`, or less if the job is stopped meanwhile; true when the wait ran out normally. */
function pause(ms: number, clock: Clock, control: JobControl): Promise<boolean> {
  if (control.stopped) return Promise.resolve(false);
  return new Promise((resolvePause) => {
    let unsubscribe = (): void => undefined;
    const cancelTimer = clock.setTimer(ms, () => {
      unsubscribe();
      resolvePause(true);
    });
    unsubscribe = control.onStop(() => {
      cancelTimer();
      resolvePause(false);
    });
  });
}
