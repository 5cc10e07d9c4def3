/**
 * GitHub check runs for the runs this node owns: `kici/<workflow>` per run and
 * `kici/<workflow>/job/<job>` per job record. The run actor tells the reporter what changed, from
 * inside its turn; every method returns at once and never throws, and all GitHub work happens
 * afterwards on per-check chains (reported-check.ts), so a run never waits on GitHub.
 *
 * The actor hands over its live records, which it keeps changing: each event is copied on arrival.
 * A run heard of without its start (it moved here from a node that died) is adopted: its checks
 * are looked up on GitHub by name and external id before any is created.
 */
import type { JobRecord, RunRecord, StepRecord } from '../runs/index.js';
import {
  DEFAULT_DEBOUNCE_MS,
  FORGET_FINISHED_RUN_MS,
  FORGET_IDLE_RUN_MS,
  jobCheckName,
  jobExternalId,
  jobPhase,
  LOG_TAIL_LINES,
  runPhase,
  stepsNeedingLogs,
  workflowCheckName,
  workflowExternalId,
} from './check-plan.js';
import { jobCompletionFields, jobProgressFields, runCompletionFields, runProgressFields } from './check-text.js';
import { CheckCalls } from './github-calls.js';
import { WorkInFlight } from './in-flight.js';
import type { CheckRunReporterDeps, CheckTarget } from './ports.js';
import { ReportedCheck, type CheckSetting } from './reported-check.js';

interface TrackedJob {
  job: JobRecord;
  steps: Map<number, StepRecord>;
  check: ReportedCheck;
}

interface TrackedRun {
  run: RunRecord;
  /** Started on another node: its checks may exist already. */
  adopted: boolean;
  target: Promise<CheckTarget | undefined> | undefined;
  /** Not a GitHub run: every event is dropped at once. */
  noTarget: boolean;
  workflow: ReportedCheck;
  jobs: Map<string, TrackedJob>;
  finished: boolean;
  lastHeardAt: number;
  cancelForget: () => void;
}

export class CheckRunReporter {
  private readonly runs = new Map<string, TrackedRun>();
  private readonly work = new WorkInFlight();
  private readonly calls: CheckCalls;
  private readonly debounceMs: number;

  constructor(private readonly deps: CheckRunReporterDeps) {
    this.calls = new CheckCalls(deps, this.work);
    this.debounceMs = deps.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  }

  runStarted(run: RunRecord, jobs: readonly JobRecord[], steps: readonly StepRecord[]): void {
    this.safely('runStarted', run, () => {
      const tracked = this.runs.get(run.id) ?? this.track(run, false);
      if (tracked.noTarget || tracked.finished) return;
      tracked.run = { ...run };
      const fresh = jobs.map((job) => this.jobOf(tracked, job, steps.filter((s) => s.jobId === job.id)));
      this.moveWorkflow(tracked);
      for (const job of fresh) job.check.moveTo(jobPhase(job.job, [...job.steps.values()]));
    });
  }

  jobChanged(run: RunRecord, job: JobRecord, steps: readonly StepRecord[]): void {
    this.safely('jobChanged', run, () => {
      const tracked = this.heard(run);
      if (!tracked) return;
      const changed = this.jobOf(tracked, job, steps);
      changed.check.moveTo(jobPhase(changed.job, [...changed.steps.values()]));
      this.moveWorkflow(tracked);
    });
  }

  stepChanged(run: RunRecord, job: JobRecord, step: StepRecord): void {
    this.safely('stepChanged', run, () => {
      const tracked = this.heard(run);
      if (!tracked) return;
      const changed = this.jobOf(tracked, job);
      changed.steps.set(step.stepIndex, { ...step });
      changed.check.moveTo(jobPhase(changed.job, [...changed.steps.values()]));
      this.moveWorkflow(tracked);
    });
  }

  runCompleted(run: RunRecord, jobs: readonly JobRecord[]): void {
    this.safely('runCompleted', run, () => {
      const known = this.runs.get(run.id);
      if (known?.noTarget) {
        known.finished = true;
        return this.forgetAfter(known, FORGET_FINISHED_RUN_MS);
      }
      const tracked = this.heard(run);
      if (!tracked) return;
      // Every job's check is completed, including any a failed-over node never heard of.
      for (const job of jobs) {
        const ended = this.jobOf(tracked, job);
        ended.check.moveTo(jobPhase(ended.job, [...ended.steps.values()]));
      }
      tracked.workflow.moveTo('completed');
      tracked.finished = true;
      this.forgetAfter(tracked, FORGET_FINISHED_RUN_MS);
    });
  }

  /** Resolves once no GitHub call, target look-up or log read is in flight (checks waiting on the clock count as quiet). */
  settled(): Promise<void> {
    return this.work.idle();
  }

  /** Runs whose state is kept (bounded: dropped 5 min after they finish, or after an hour unheard of). */
  trackedRuns(): number {
    return this.runs.size;
  }

  /** Forget every run and cancel every timer; calls already under way finish on their own. */
  stop(): void {
    for (const tracked of [...this.runs.values()]) this.forget(tracked);
  }

  // ---- state ----

  /** The run's state for an event after its start; a run not known here is adopted. */
  private heard(run: RunRecord): TrackedRun | undefined {
    const tracked = this.runs.get(run.id) ?? this.track(run, true);
    if (tracked.noTarget || tracked.finished) return undefined;
    tracked.run = { ...run };
    tracked.lastHeardAt = this.deps.clock.now();
    // Asks again if the last look-up failed (a cached answer costs nothing).
    void this.targetOf(tracked);
    return tracked;
  }

  private track(run: RunRecord, adopted: boolean): TrackedRun {
    // The check's content reads the run's newest state, which only exists once the check does.
    let tracked!: TrackedRun;
    const snapshot = { ...run };
    const workflow = new ReportedCheck(
      { name: workflowCheckName(snapshot), externalId: workflowExternalId(snapshot), headSha: snapshot.sha ?? '', detailsUrl: this.detailsUrl(snapshot) },
      {
        progress: (phase) => runProgressFields(tracked.run, this.jobsOf(tracked), phase, this.deps.clock.now()),
        completion: async () => runCompletionFields(tracked.run, this.jobsOf(tracked), this.deps.clock.now()),
      },
      this.setting(() => tracked),
      adopted,
    );
    tracked = {
      run: snapshot,
      adopted,
      target: undefined,
      noTarget: false,
      workflow,
      jobs: new Map(),
      finished: false,
      lastHeardAt: this.deps.clock.now(),
      cancelForget: () => undefined,
    };
    this.runs.set(run.id, tracked);
    void this.targetOf(tracked);
    this.forgetAfter(tracked, FORGET_IDLE_RUN_MS);
    return tracked;
  }

  /** The job's state, its record replaced by `job` and, when given, its steps by `steps`. */
  private jobOf(tracked: TrackedRun, job: JobRecord, steps?: readonly StepRecord[]): TrackedJob {
    let entry = tracked.jobs.get(job.id);
    if (!entry) {
      let fresh!: TrackedJob;
      const { run } = tracked;
      const check = new ReportedCheck(
        { name: jobCheckName(run, job), externalId: jobExternalId(run, job), headSha: run.sha ?? '', detailsUrl: this.detailsUrl(run, job) },
        {
          progress: (phase) => jobProgressFields(fresh.job, [...fresh.steps.values()], phase, this.deps.clock.now()),
          completion: () => this.jobCompletion(tracked, fresh),
        },
        this.setting(() => tracked),
        tracked.adopted,
      );
      fresh = { job: { ...job }, steps: new Map(), check };
      tracked.jobs.set(job.id, fresh);
      entry = fresh;
    }
    entry.job = { ...job };
    if (steps) entry.steps = new Map(steps.map((s) => [s.stepIndex, { ...s }]));
    return entry;
  }

  private jobsOf(tracked: TrackedRun): JobRecord[] {
    return [...tracked.jobs.values()].map((j) => j.job);
  }

  /** The workflow's check follows its jobs until the run completes (only then does it conclude). */
  private moveWorkflow(tracked: TrackedRun): void {
    const phase = runPhase(tracked.run, this.jobsOf(tracked));
    tracked.workflow.moveTo(phase === 'completed' ? 'in_progress' : phase);
  }

  private setting(tracked: () => TrackedRun): CheckSetting {
    return { calls: this.calls, clock: this.deps.clock, debounceMs: this.debounceMs, target: () => this.targetOf(tracked()) };
  }

  private detailsUrl(run: RunRecord, job?: JobRecord): string | undefined {
    try {
      return this.deps.detailsUrl?.(run, job);
    } catch (error) {
      this.calls.failed(error, `build the details URL of run ${run.id}`);
      return undefined;
    }
  }

  /** Looked up once per run; a look-up that failed is tried again by the next call that needs it. */
  private targetOf(tracked: TrackedRun): Promise<CheckTarget | undefined> {
    tracked.target ??= this.work
      .run(() => this.deps.targetOf(tracked.run))
      .then((target) => {
        if (target && !tracked.run.sha) {
          this.calls.failed(new Error('the run names no commit'), `report the checks of run ${tracked.run.id}`);
          target = undefined;
        }
        if (!target) this.dropChecks(tracked);
        return target;
      })
      .catch((error: unknown) => {
        tracked.target = undefined;
        this.calls.failed(error, `look up where run ${tracked.run.id} reports its checks`);
        return undefined;
      });
    return tracked.target;
  }

  /** A run that is not GitHub's keeps nothing but the fact. */
  private dropChecks(tracked: TrackedRun): void {
    tracked.noTarget = true;
    tracked.workflow.stopDebounce();
    for (const job of tracked.jobs.values()) job.check.stopDebounce();
    tracked.jobs.clear();
  }

  private async jobCompletion(tracked: TrackedRun, entry: TrackedJob) {
    const steps = [...entry.steps.values()];
    const logs = new Map<number, string[]>();
    for (const step of stepsNeedingLogs(entry.job, steps)) {
      try {
        logs.set(step.stepIndex, await this.work.run(() => this.deps.logTail(tracked.run.id, entry.job.id, step.stepIndex, LOG_TAIL_LINES)));
      } catch (error) {
        // The check still completes, without the lines.
        this.calls.failed(error, `read the last log lines of step ${step.stepIndex} of job "${entry.job.name}" of run ${tracked.run.id}`);
      }
    }
    return jobCompletionFields(entry.job, steps, logs, this.deps.clock.now());
  }

  // ---- forgetting ----

  private forgetAfter(tracked: TrackedRun, ms: number): void {
    tracked.cancelForget();
    tracked.cancelForget = this.deps.clock.setTimer(ms, () => {
      const unheard = this.deps.clock.now() - tracked.lastHeardAt;
      if (!tracked.finished && unheard < FORGET_IDLE_RUN_MS) return this.forgetAfter(tracked, FORGET_IDLE_RUN_MS - unheard);
      this.forget(tracked);
    });
  }

  private forget(tracked: TrackedRun): void {
    tracked.cancelForget();
    tracked.workflow.stopDebounce();
    for (const job of tracked.jobs.values()) job.check.stopDebounce();
    if (this.runs.get(tracked.run.id) === tracked) this.runs.delete(tracked.run.id);
  }

  private safely(event: string, run: RunRecord, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.calls.failed(error, `report ${event} of run ${run?.id} to GitHub`);
    }
  }
}
