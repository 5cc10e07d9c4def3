/**
 * An environment's variables and its per-source overrides (seed 000, KiCI §1.6), pure: the
 * variables a job sees from one environment (`variablesOf`), the fold of several environments in
 * the job's order (`foldVariables`), and the checks on a variable's name and value that the admin
 * API and kici-admin share.
 *
 * The rules:
 * - An environment's variables apply to every job that deploys there.
 * - An override belongs to one source (its `routingKey` is the source's id). It applies only to
 *   jobs whose delivery came through that source. It may add a key, or replace a key that is
 *   **not locked**. An override of a **locked** key is ignored. KiCI ignores it without a word. Here
 *   the run ignores it too, and whatever sets such an override (API, CLI) says so.
 * - For a job naming several environments, each environment's variables are resolved with its own
 *   overrides, then folded in the job's order: **the later environment wins** (KiCI's rule).
 * - `KICI_*` names are run metadata that nothing may set or override. The checks refuse them, and
 *   a row written by hand with such a name, or with a name no process environment can carry, is
 *   left out.
 *
 * Variables are plain configuration, not secrets: secrets live apart and never enter a job's
 * environment by themselves.
 */
import { z } from 'zod';

/** One variable of an environment: `locked` keeps sources' overrides off it. */
export interface EnvironmentVariable {
  key: string;
  value: string;
  locked: boolean;
}

/** One source's value for a key of an environment; `routingKey` is the source's id. */
export interface SourceOverride {
  routingKey: string;
  key: string;
  value: string;
}

/** What one environment contributes: its variables and the overrides that apply (those of one source, or all). */
export interface EnvironmentVariableSet {
  variables: EnvironmentVariable[];
  overrides: SourceOverride[];
}

export const VARIABLE_LIMITS = Object.freeze({
  /** Characters in a name. */
  keyLength: 256,
  /** UTF-8 bytes in a value (64 KiB). */
  valueBytes: 64 * 1024,
});

/** The prefix of run metadata (`KICI_RUN_ID`, `KICI_SHA`, `KICI_MATRIX_…`): no variable may take it. */
export const RESERVED_VARIABLE_PREFIX = 'KICI_';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const utf8 = new TextEncoder();

/**
 * Why `key` cannot be a variable's name, or null when it can: a process environment name
 * (`^[A-Za-z_][A-Za-z0-9_]*$`, at most 256 characters) outside the `KICI_` prefix.
 */
export function variableKeyProblem(key: string): string | null {
  if (key.length === 0) return 'must not be empty';
  if (key.length > VARIABLE_LIMITS.keyLength) return `at most ${VARIABLE_LIMITS.keyLength} characters`;
  if (!NAME.test(key)) return 'an environment variable name: a letter or "_" first, then letters, digits and "_" only';
  // Case-insensitive: `kici_run_id` is the same name to a reader, and to Windows.
  if (key.toUpperCase().startsWith(RESERVED_VARIABLE_PREFIX)) {
    return `${key}: names starting with ${RESERVED_VARIABLE_PREFIX} (in any case) are reserved for run metadata (KICI_RUN_ID, KICI_SHA, …), which nothing may set or override`;
  }
  return null;
}

/** Why `value` cannot be a variable's value, or null when it can: at most 64 KiB of UTF-8, no NUL byte. */
export function variableValueProblem(value: string): string | null {
  // A NUL ends a string in a process environment (and PostgreSQL's text refuses it).
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  const bytes = utf8.encode(value).length;
  if (bytes > VARIABLE_LIMITS.valueBytes) return `at most ${VARIABLE_LIMITS.valueBytes} bytes (64 KiB) of UTF-8, got ${bytes}`;
  return null;
}

/** A variable's name, as the admin API and kici-admin check it (see `variableKeyProblem`). */
export const variableKeySchema = z.string().superRefine((key, ctx) => {
  const problem = variableKeyProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A variable's (or an override's) value (see `variableValueProblem`); empty is a value. */
export const variableValueSchema = z.string().superRefine((value, ctx) => {
  const problem = variableValueProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Whether an override of `key` would be ignored in an environment with these variables. */
export function overrideIgnored(variables: readonly EnvironmentVariable[], key: string): boolean {
  return variables.some((v) => v.key === key && v.locked);
}

/**
 * The variables one environment gives a job whose delivery came through the source `routingKey`
 * (null: no source, so no overrides): the environment's variables, then that source's overrides,
 * which add keys or replace unlocked ones; an override of a locked key is ignored. Overrides of
 * other sources are skipped, so `overrides` may hold every source's. Names that fail
 * `variableKeyProblem` (rows written by hand) are left out.
 */
export function variablesOf(variables: readonly EnvironmentVariable[], overrides: readonly SourceOverride[], routingKey: string | null): Record<string, string> {
  // A Map, then fromEntries: a name like `__proto__` is a key like any other.
  const values = new Map<string, string>();
  const locked = new Set<string>();
  for (const v of variables) {
    if (variableKeyProblem(v.key) !== null) continue;
    values.set(v.key, v.value);
    if (v.locked) locked.add(v.key);
  }
  if (routingKey !== null) {
    for (const o of overrides) {
      if (o.routingKey !== routingKey || locked.has(o.key) || variableKeyProblem(o.key) !== null) continue;
      values.set(o.key, o.value);
    }
  }
  return Object.fromEntries(values);
}

/** Several environments' variables (each from `variablesOf`) in the job's order: the later environment wins a key. */
export function foldVariables(perEnvironment: readonly Record<string, string>[]): Record<string, string> {
  const values = new Map<string, string>();
  for (const variables of perEnvironment) {
    for (const [key, value] of Object.entries(variables)) values.set(key, value);
  }
  return Object.fromEntries(values);
}
