/**
 * The retention room (issue 19): raw webhook bodies and step logs are removed once older than the
 * policy keeps them, while the rows that describe them (the event log, the run) stay and say when.
 * A coordinator duty does it in bounded batches; `Retention.purge` does it at once for an admin.
 */
export { cutoffOf, DAY_MS, DEFAULT_RETENTION, type RetentionKind, type RetentionPolicy } from './policy.js';
export { type DutyClaim, PAYLOADS_PER_BATCH, type PurgeRequest, Retention, type RetentionCounts, type RetentionDeps, RUNS_PER_BATCH } from './retention.js';
export { RETENTION_TICK_MS, retentionDuty } from './duty.js';
