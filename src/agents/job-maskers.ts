import type { Clock } from '../clock/index.js';
import { SecretMasker } from '../masking/index.js';

/**
 * How long a job's masker outlives the job's slot on this node. The agent sends its final status
 * at once but its log lines paced behind it, and the run keeps the job's own agent's late lines for
 * five minutes after the job ended (FINISHED_GRACE_MS in the run domain): they are masked as long.
 */
export const MASK_AFTER_END_MS = 5 * 60_000;

interface Entry {
  masker: SecretMasker;
  cancelDrop?: () => void;
}

/**
 * The secrets of the jobs this node dispatched to its agents, as maskers, for masking what those
 * agents report about the jobs a second time (an agent of an older build, or one that lies, may
 * send a secret in a log line). Kept only in memory, from the frame leaving until the job's slot
 * frees here plus MASK_AFTER_END_MS; never logged, never persisted. The values themselves are not
 * kept beyond the masker's patterns.
 */
export class JobMaskers {
  private readonly jobs = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly lingerMs = MASK_AFTER_END_MS,
  ) {}

  /** Jobs whose secrets are held now (tests, and a check that nothing piles up). */
  get size(): number {
    return this.jobs.size;
  }

  /** A job.dispatch frame left for an agent here: its secrets replace any earlier attempt's. */
  dispatched(jobId: string, secrets: Record<string, string> | undefined): void {
    this.drop(jobId);
    const masker = SecretMasker.of(secrets);
    if (masker.active) this.jobs.set(jobId, { masker });
  }

  /** The job's slot here freed (finished, refused, or gone with its agent): drop its secrets a while later. */
  ended(jobId: string): void {
    const entry = this.jobs.get(jobId);
    if (!entry || entry.cancelDrop) return;
    entry.cancelDrop = this.clock.setTimer(this.lingerMs, () => {
      if (this.jobs.get(jobId) === entry) this.jobs.delete(jobId);
    });
  }

  /** The job's agent is back with it (a reconnect here): keep its secrets while it runs. */
  resumed(jobId: string): void {
    const entry = this.jobs.get(jobId);
    entry?.cancelDrop?.();
    if (entry) entry.cancelDrop = undefined;
  }

  /** Log lines about a job, masked as one text (so a value with a newline is masked too). */
  maskLines(jobId: string, lines: string[]): string[] {
    const entry = this.jobs.get(jobId);
    return entry ? entry.masker.maskLines(lines) : lines;
  }

  /** Any other text an agent reports about a job (an error). */
  mask(jobId: string, text: string): string;
  mask(jobId: string, text: string | undefined): string | undefined;
  mask(jobId: string, text: string | undefined): string | undefined {
    const entry = this.jobs.get(jobId);
    return entry && text !== undefined ? entry.masker.mask(text) : text;
  }

  /** Forget every job's secrets (the hub stops). */
  clear(): void {
    for (const entry of this.jobs.values()) entry.cancelDrop?.();
    this.jobs.clear();
  }

  private drop(jobId: string): void {
    this.jobs.get(jobId)?.cancelDrop?.();
    this.jobs.delete(jobId);
  }
}
