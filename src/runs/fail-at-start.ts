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
  return trimmed.length > MAX_RUN_ERROR_LENGTH ? `${trimmed.slice(0, MAX_RUN_ERROR_LENGTH - 1)}…` : trimmed;
}
