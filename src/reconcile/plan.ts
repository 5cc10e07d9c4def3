/**
 * The reconcile decision, pure: the tips deliveries recorded, and the mirror's tips after a fetch,
 * give the branches to run. Each moved branch runs once, for its newest commit, as a push from
 * the recorded tip (so `paths` filters see every file changed since the last processed commit).
 */

export interface Tip {
  /** Full ref name, `refs/heads/<branch>`. */
  ref: string;
  sha: string;
}

export interface MovedRef {
  ref: string;
  /** The recorded tip; all zeros for a branch created since the baseline (a new branch's push). */
  before: string;
  /** The mirror's tip: the only commit of the branch that runs. */
  after: string;
}

export interface ReconcilePlan {
  /**
   * First sight of the source: record the current tips and run nothing for branches no delivery
   * recorded (a source just added must not run every branch).
   */
  takeBaseline: boolean;
  moved: MovedRef[];
}

export function planReconcile(recorded: readonly Tip[], current: readonly Tip[], hasBaseline: boolean): ReconcilePlan {
  const known = new Map(recorded.map((t) => [t.ref, t.sha]));
  const moved: MovedRef[] = [];
  for (const tip of current) {
    if (!tip.ref.startsWith('refs/heads/')) continue;
    const before = known.get(tip.ref);
    if (before === tip.sha) continue;
    // Before the baseline an unrecorded branch is simply there; after it, it is new since.
    if (before === undefined && !hasBaseline) continue;
    moved.push({ ref: tip.ref, before: before ?? '0'.repeat(tip.sha.length), after: tip.sha });
  }
  return { takeBaseline: !hasBaseline, moved };
}
