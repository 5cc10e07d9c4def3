/**
 * What a run that fails before any job exists says: a lock file that is not JSON, has an unknown
 * schema version, fails the schema, or uses a field that is not supported yet. The run is created
 * already failed (by the deliveries room's `createFailedRun`, the one creator of such runs) with an
 * error naming the field, so the user sees why nothing ran.
 */

/** Longer errors are cut: they end up in API responses and terminal tables. */
export const MAX_RUN_ERROR_LENGTH = 2_000;

/** Never empty, never unbounded: a blank reason still tells the user something, a cut one says so (…). */
export function failedRunError(reason: string): string {
  const trimmed = reason.trim() || 'the run could not start';
  if (trimmed.length <= MAX_RUN_ERROR_LENGTH) return trimmed;
  // Never half a surrogate pair: a cut emoji would be a character no database takes back intact.
  let end = MAX_RUN_ERROR_LENGTH - 1;
  if (/[\ud800-\udbff]/.test(trimmed[end - 1]!)) end--;
  return `${trimmed.slice(0, end)}…`;
}
