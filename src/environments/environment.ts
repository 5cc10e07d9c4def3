/**
 * What an environment is: a named target a job deploys to (fixed), or a family of them named by a
 * picomatch glob (`review/*`), with the protection rules the gates enforce. Seed 000 fixes the
 * columns and their defaults; this file is the one place their names, kinds and limits are written
 * in TypeScript, so the store, the in-memory store and the admin API agree.
 */

export const ENVIRONMENT_TYPES = ['fixed', 'glob'] as const;
/** `queue`: waiters start in arrival order; `cancel-pending`: a newer waiter replaces the older ones. */
export const CONCURRENCY_STRATEGIES = ['queue', 'cancel-pending'] as const;
/** The lowest trust tier of a pull request's author that runs without a security hold. */
export const TRUST_TIERS = ['known', 'trusted'] as const;

export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];
export type ConcurrencyStrategy = (typeof CONCURRENCY_STRATEGIES)[number];
export type TrustTier = (typeof TRUST_TIERS)[number];

/** The protection rules: the columns an operator sets after creating an environment. */
export interface ProtectionRules {
  /** A disabled environment still matches a job's name, so that its gate can reject the job. */
  enabled: boolean;
  /** picomatch globs of the target branch; empty: any branch. */
  branchRestrictions: string[];
  /** picomatch globs of the event type (`push`, `pull_request`, …); empty: any. */
  triggerTypeFilters: string[];
  /** picomatch globs of the repository; empty: any. */
  repoPatterns: string[];
  /** Null: no trust requirement. Events without a trust tier (pushes) always pass. */
  minimumTrust: TrustTier | null;
  /** Admin token names that must all approve a held job; empty: no review. */
  requiredReviewers: string[];
  /** Null: no wait. 0 still waits (for no time), as KiCI's gate does. */
  waitTimerSeconds: number | null;
  /** Null: no limit. 0 queues every job (a pause). */
  concurrencyLimit: number | null;
  concurrencyStrategy: ConcurrencyStrategy;
  /** How long a pending hold waits for its reviewers before it expires and the job is cancelled. */
  holdExpirySeconds: number;
}

export interface Environment extends ProtectionRules {
  id: string;
  orgId: string;
  name: string;
  type: EnvironmentType;
  /** The glob of a `glob` environment; null for a `fixed` one. */
  globPattern: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A new environment: what is left out takes its default (seed 000). */
export interface NewEnvironment extends Partial<ProtectionRules> {
  /** Normally generated (a UUID); tests and imports may fix it. */
  id?: string;
  orgId: string;
  name: string;
  /** Absent: `glob` when `globPattern` is given, else `fixed`. */
  type?: EnvironmentType;
  globPattern?: string | null;
}

/**
 * A change: absent fields stay. A string `globPattern` makes the environment a glob one and null
 * makes it fixed (unless `type` says otherwise, which is then checked).
 */
export type EnvironmentChanges = Partial<ProtectionRules & { name: string; type: EnvironmentType; globPattern: string | null }>;

/** The columns' defaults, as the migration writes them. */
export const DEFAULT_PROTECTION: Readonly<ProtectionRules> = Object.freeze({
  enabled: true,
  branchRestrictions: [],
  triggerTypeFilters: [],
  repoPatterns: [],
  minimumTrust: null,
  requiredReviewers: [],
  waitTimerSeconds: null,
  concurrencyLimit: null,
  concurrencyStrategy: 'queue',
  holdExpirySeconds: 3600,
});

/** Bounds the edges check (the database's CHECKs hold the lower ones too). */
export const ENVIRONMENT_LIMITS = Object.freeze({
  nameLength: 200,
  patternLength: 255,
  patternsPerList: 100,
  reviewerNameLength: 100,
  reviewers: 50,
  /** 30 days, GitHub's own cap for a wait timer. */
  waitTimerSeconds: 30 * 24 * 3600,
  holdExpirySeconds: 30 * 24 * 3600,
  concurrencyLimit: 10_000,
});

/** The fields of a record that are not its identity or timestamps: what create and update decide. */
export type EnvironmentShape = Omit<Environment, 'id' | 'createdAt' | 'updatedAt'>;

export function shapeOf(env: Environment): EnvironmentShape {
  const { id: _id, createdAt: _c, updatedAt: _u, ...shape } = env;
  return shape;
}
