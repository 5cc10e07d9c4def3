/**
 * How times and statuses read on the pages. Pure (no DOM): the unit tests run it under Node.
 */

export const TERMINAL_RUN_STATUSES: readonly string[] = ['success', 'failed', 'cancelled'];
const TERMINAL_JOB_STATUSES: readonly string[] = ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'];

export const isTerminalRun = (status: string): boolean => TERMINAL_RUN_STATUSES.includes(status);
export const isTerminalJob = (status: string): boolean => TERMINAL_JOB_STATUSES.includes(status);

/** `1h 02m`, `3m 07s`, `12s`, `850ms`: the two largest units, as CI pages show them. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** How long something took, or has taken so far while it runs (`now` for the open end). */
export function elapsedMs(startedAt: string | null | undefined, finishedAt: string | null | undefined, now: number): number | null {
  const start = parseTime(startedAt);
  if (start === null) return null;
  const end = finishedAt ? parseTime(finishedAt) : now;
  return end === null ? null : Math.max(0, end - start);
}

/** `just now`, `5m ago`, `3h ago`, `2d ago`; a time in the future (clock skew) reads `just now`. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  const t = parseTime(iso);
  if (t === null) return '–';
  const s = Math.floor((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** An absolute time for a tooltip: `2026-12-07 10:44:03 UTC`. */
export function absoluteTime(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return '';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export const shortSha = (sha: string | null | undefined): string => (sha ? sha.slice(0, 10) : '–');

/** `refs/heads/main` reads `main`, `refs/tags/v1` reads `v1`; anything else as given. */
export const shortRef = (ref: string | null | undefined): string => (ref ? ref.replace(/^refs\/(heads|tags)\//, '') : '–');

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A status as a CSS class name: only letters, digits and dashes, whatever the server sent. */
export const statusClass = (status: string): string => `status-${status.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * What started a run: the server's word when it gives one (`trigger`), otherwise what the run's
 * fields imply: a later attempt is a rerun, a run with a delivery came from a webhook or a push.
 */
export function triggerOf(run: { trigger?: string | null; attempt?: number; deliveryId?: string | null }): string {
  if (run.trigger) return run.trigger;
  if ((run.attempt ?? 1) > 1) return `rerun #${run.attempt}`;
  return run.deliveryId ? 'delivery' : 'manual';
}
