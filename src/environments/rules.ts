/**
 * The rules an environment record keeps, as zod schemas (the admin API builds its bodies from
 * them) and as the checks every store runs before it writes, so the in-memory store refuses what
 * PostgreSQL's CHECKs would, with the same error naming the field.
 */
import { z } from 'zod';
import {
  CONCURRENCY_STRATEGIES,
  DEFAULT_PROTECTION,
  type EnvironmentChanges,
  type EnvironmentShape,
  ENVIRONMENT_LIMITS as L,
  ENVIRONMENT_TYPES,
  type NewEnvironment,
  TRUST_TIERS,
} from './environment.js';
import { InvalidEnvironmentError } from './errors.js';
import { compileProblem, globProblem } from './glob.js';

const printable = /^[^\s\p{Cc}]+$/u;

/** A name a job asks for: `production`, `review/PR-123`; a glob environment's name may hold its glob. */
export const environmentNameSchema = z
  .string()
  .min(1)
  .max(L.nameLength)
  .regex(printable, 'no spaces or control characters');

/** A glob of a rule list (branches, event types, repositories): any picomatch glob, `!…` negation included. */
const rulePatternSchema = z
  .string()
  .min(1)
  .max(L.patternLength)
  .regex(printable, 'no spaces or control characters')
  .superRefine((p, ctx) => {
    const problem = compileProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The glob of a glob environment: as a rule's, but never negated (see `globProblem`). */
export const globPatternSchema = rulePatternSchema.superRefine((p, ctx) => {
  const problem = globProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const patternList = z.array(rulePatternSchema).max(L.patternsPerList);
const seconds = (max: number) => z.number().int().min(0).max(max);

/** Each protection rule's schema, in the API's spelling; nullable where null means "none". */
export const protectionRuleSchemas = {
  enabled: z.boolean(),
  branchRestrictions: patternList,
  triggerTypeFilters: patternList,
  repoPatterns: patternList,
  minimumTrust: z.enum(TRUST_TIERS).nullable(),
  requiredReviewers: z.array(z.string().min(1).max(L.reviewerNameLength).regex(printable, 'no spaces or control characters')).max(L.reviewers),
  waitTimerSeconds: seconds(L.waitTimerSeconds).nullable(),
  concurrencyLimit: z.number().int().min(0).max(L.concurrencyLimit).nullable(),
  concurrencyStrategy: z.enum(CONCURRENCY_STRATEGIES),
  holdExpirySeconds: seconds(L.holdExpirySeconds).min(1),
} as const;

export const environmentTypeSchema = z.enum(ENVIRONMENT_TYPES);

const shapeSchema = z.object({
  orgId: z.string().min(1),
  name: environmentNameSchema,
  type: environmentTypeSchema,
  globPattern: globPatternSchema.nullable(),
  ...protectionRuleSchemas,
});

/** The full record a new environment gets: defaults filled in, the glob inferred, every rule checked. */
export function newEnvironmentShape(input: NewEnvironment): EnvironmentShape {
  const { id: _id, orgId, name, ...rest } = input;
  const globPattern = input.globPattern ?? null;
  return checkedShape({
    ...DEFAULT_PROTECTION,
    ...definedOnly(rest),
    orgId,
    name,
    type: input.type ?? (globPattern === null ? 'fixed' : 'glob'),
    globPattern,
  });
}

/** `current` with `changes` applied and checked; a glob given or cleared changes the type with it. */
export function changedEnvironmentShape(current: EnvironmentShape, changes: EnvironmentChanges): EnvironmentShape {
  const type = changes.type ?? (changes.globPattern === undefined ? current.type : changes.globPattern === null ? 'fixed' : 'glob');
  const globPattern = changes.globPattern !== undefined ? changes.globPattern : type === 'fixed' ? null : current.globPattern;
  return checkedShape({ ...current, ...definedOnly(changes), type, globPattern });
}

function checkedShape(shape: EnvironmentShape): EnvironmentShape {
  const parsed = shapeSchema.safeParse(shape);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidEnvironmentError(issue.path.join('.') || 'environment', issue.message);
  }
  if (shape.type === 'glob' && shape.globPattern === null) throw new InvalidEnvironmentError('globPattern', 'required for a glob environment');
  if (shape.type === 'fixed' && shape.globPattern !== null) throw new InvalidEnvironmentError('globPattern', 'only a glob environment has one');
  // zod's output: only the record's own fields (an `id` or a stray key never rides along), arrays copied.
  const s = parsed.data as EnvironmentShape;
  return {
    ...s,
    branchRestrictions: [...s.branchRestrictions],
    triggerTypeFilters: [...s.triggerTypeFilters],
    repoPatterns: [...s.repoPatterns],
    requiredReviewers: [...s.requiredReviewers],
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
