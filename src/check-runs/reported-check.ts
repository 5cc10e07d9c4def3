/**
 * One check run on GitHub (the workflow's or one job's) and the calls made for it, strictly in
 * order through one promise chain: the create (or the find of a check another node made) goes
 * first, each update after the one before, and nothing after the completion. What is sent is read
 * from the newest state when the call is made, so a call that waited behind a slow one never
 * sends something already out of date, and at most one progress update waits at a time.
 */
import type { Clock } from '../clock/index.js';
import type { CheckRunFields } from '../github/index.js';
import { nextMove, type CheckPhase } from './check-plan.js';
import type { CheckCalls } from './github-calls.js';
import type { CheckTarget } from './ports.js';

export interface CheckIdentity {
  name: string;
  externalId: string;
  headSha: string;
  detailsUrl?: string;
}

/** What the check says, built when a call goes out. */
export interface CheckContent {
  progress(phase: 'queued' | 'in_progress'): CheckRunFields;
  completion(): Promise<CheckRunFields>;
}

export interface CheckSetting {
  calls: CheckCalls;
  clock: Clock;
  debounceMs: number;
  /** The run's target (looked up once per run); undefined: nothing is reported. */
  target(): Promise<CheckTarget | undefined>;
}

export class ReportedCheck {
  /** The phase last queued for sending (not necessarily sent yet). */
  private sent: CheckPhase = 'none';
  private id: number | undefined;
  private tail: Promise<void> = Promise.resolve();
  private cancelDebounce: (() => void) | undefined;
  private progressWaiting = false;
  /** Found completed by the node that had the run before: it stays as it was left. */
  private finishedElsewhere = false;

  constructor(
    private readonly identity: CheckIdentity,
    private readonly content: CheckContent,
    private readonly setting: CheckSetting,
    /** Another node may have created it (the run started elsewhere): look for it before creating one. */
    private mayExist: boolean,
  ) {}

  get phase(): CheckPhase {
    return this.sent;
  }

  get name(): string {
    return this.identity.name;
  }

  /** The job or run is now in `wanted`: send at once, batch, complete, or say nothing. */
  moveTo(wanted: Exclude<CheckPhase, 'none'>): void {
    switch (nextMove(this.sent, wanted)) {
      case 'now':
        this.sent = wanted;
        this.queueProgress();
        return;
      case 'debounce':
        this.cancelDebounce ??= this.setting.clock.setTimer(this.setting.debounceMs, () => {
          this.cancelDebounce = undefined;
          this.queueProgress();
        });
        return;
      case 'final':
        this.sent = 'completed';
        this.stopDebounce();
        this.enqueue(() => this.send(() => this.completionOnce()));
        // A step's last log lines reach the orchestrator after its status (log frames are paced,
        // statuses are not): the summary is read again a window later, and sent if it grew.
        this.cancelDebounce = this.setting.clock.setTimer(this.setting.debounceMs, () => {
          this.cancelDebounce = undefined;
          this.enqueue(() => this.refreshCompletion());
        });
        return;
      case 'none':
        return;
    }
  }

  /** Drop progress not sent yet (the run is being forgotten). */
  stopDebounce(): void {
    this.cancelDebounce?.();
    this.cancelDebounce = undefined;
  }

  private queueProgress(): void {
    // The update already waiting reads the newest state when it goes.
    if (this.progressWaiting) return;
    this.progressWaiting = true;
    this.enqueue(async () => {
      this.progressWaiting = false;
      // A completion is queued behind: it says everything this would.
      if (this.sent === 'completed') return;
      const phase = this.sent === 'queued' ? 'queued' : 'in_progress';
      await this.send(() => this.content.progress(phase));
    });
  }

  private lastCompletion: string | undefined;

  private async completionOnce(): Promise<CheckRunFields> {
    const fields = await this.content.completion();
    this.lastCompletion = JSON.stringify(fields.output ?? null);
    return fields;
  }

  /** The completion's output again, sent only when it changed (late log lines); never a second conclusion. */
  private async refreshCompletion(): Promise<void> {
    if (this.id === undefined || this.lastCompletion === undefined) return;
    const fields = await this.content.completion();
    const output = JSON.stringify(fields.output ?? null);
    if (!fields.output || output === this.lastCompletion) return;
    this.lastCompletion = output;
    const target = await this.setting.target();
    if (!target || this.finishedElsewhere) return;
    await this.setting.calls.retrying(`update check run "${this.identity.name}" (${this.identity.externalId})`, () =>
      this.setting.calls.update(target, this.id!, { output: fields.output }),
    );
  }

  private enqueue(task: () => Promise<void>): void {
    this.tail = this.tail.then(task).catch((error: unknown) => this.setting.calls.failed(error, `report check run "${this.identity.name}"`));
  }

  private async send(build: () => CheckRunFields | Promise<CheckRunFields>): Promise<void> {
    const target = await this.setting.target();
    if (!target || this.finishedElsewhere) return;
    const fields = await build();
    const where = `check run "${this.identity.name}" (${this.identity.externalId}) on ${target.owner}/${target.repo}`;
    if (this.id === undefined) {
      // A create that failed leaves no id; the next update tries again (looking first).
      const opened = await this.setting.calls.retrying(`create ${where}`, () => this.open(target, fields));
      if (!opened.ok || opened.value !== 'found') return;
    }
    await this.setting.calls.retrying(`update ${where}`, () => this.setting.calls.update(target, this.id!, fields));
  }

  /** The check, created with `fields`, or found (then the caller still has to send them). */
  private async open(target: CheckTarget, fields: CheckRunFields): Promise<'created' | 'found' | 'finished'> {
    const { name, headSha, externalId, detailsUrl } = this.identity;
    if (this.mayExist) {
      const found = (await this.setting.calls.find(target, headSha, name)).find((c) => c.externalId === externalId);
      if (found) {
        this.id = found.id;
        if (found.status !== 'completed') return 'found';
        this.finishedElsewhere = true;
        this.sent = 'completed';
        this.stopDebounce();
        return 'finished';
      }
    }
    // A retry cannot tell whether GitHub made the check before the call failed: it looks first.
    this.mayExist = true;
    const created = await this.setting.calls.create(target, { name, headSha, externalId, ...(detailsUrl ? { detailsUrl } : {}), ...fields });
    this.id = created.id;
    return 'created';
  }
}
