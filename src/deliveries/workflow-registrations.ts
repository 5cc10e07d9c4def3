/**
 * Registering the webhook-triggered workflows of a default-branch push. Most pushes change code,
 * not the lock file, so the list to register is usually the one already recorded: then only the
 * recorded commit moves (one UPDATE), instead of a transaction that rewrites every row.
 *
 * The commit must move even then: a generic delivery runs the registered workflows at the
 * recorded sha, which has to be the default branch's newest processed push, not the commit that
 * last changed the lock file.
 */
import { createHash } from 'node:crypto';
import type { RegistrationRepository } from '../store/index.js';
import { hasGitIndependentTriggers, type Lockfile } from '../workflows/index.js';

/** What this node last wrote for a source: the commit its rows carry and a digest of their content. */
interface Written {
  sha: string;
  digest: string;
  count: number;
}

export class WorkflowRegistrations {
  /**
   * Per source, what this node last wrote. Only a hint: `advance` proves it against the rows (they
   * must all still carry that commit), so another node's write or a restart costs one full write.
   */
  private readonly written = new Map<string, Written>();
  /** Digests by lock file object: the parse cache hands back the same object for the same content. */
  private readonly digests = new WeakMap<Lockfile, string>();

  constructor(private readonly registrations: Pick<RegistrationRepository, 'replace' | 'advance'>) {}

  /** Make the source's registrations those of `lockfile` at `sha`. */
  async register(sourceId: string, sha: string, lockfile: Lockfile, now: Date): Promise<void> {
    const workflows = lockfile.workflows.filter(hasGitIndependentTriggers);
    const digest = this.digestOf(lockfile, workflows);
    const last = this.written.get(sourceId);
    // No workflow to register is one DELETE either way, and it is the only proof that none is left.
    if (last && last.digest === digest && workflows.length > 0) {
      const moved = await this.registrations.advance(sourceId, last.sha, sha, now);
      if (moved === last.count) {
        this.written.set(sourceId, { ...last, sha });
        return;
      }
    }
    this.written.delete(sourceId);
    await this.registrations.replace(sourceId, sha, workflows.map((w) => ({ workflowName: w.name, triggers: w.triggers, lockfile: w })), now);
    this.written.set(sourceId, { sha, digest, count: workflows.length });
  }

  private digestOf(lockfile: Lockfile, workflows: Lockfile['workflows']): string {
    let digest = this.digests.get(lockfile);
    if (digest === undefined) {
      digest = createHash('sha256').update(JSON.stringify(workflows)).digest('hex');
      this.digests.set(lockfile, digest);
    }
    return digest;
  }
}
