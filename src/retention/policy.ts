/**
 * How long raw webhook bodies and step logs are kept (issue 19). Days, not milliseconds: these are
 * operators' numbers, and a day is the grain anyone reasons about history in. 0 keeps forever.
 */
export const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  /** Raw webhook bodies (the `deliveries` row's body and its gzipped copy), by when they were received. */
  deliveryDays: number;
  /** Step logs of finished runs, by when the run finished. */
  logDays: number;
}

/** 30 days of payloads covers a redelivery or an investigation; logs are read longer after a run. */
export const DEFAULT_RETENTION: RetentionPolicy = { deliveryDays: 30, logDays: 90 };

/** What retention removes, as the metric labels it. */
export type RetentionKind = 'delivery_payload' | 'step_log';

/** The instant before which something kept `days` is removed at `now`; undefined when kept forever. */
export function cutoffOf(now: number, days: number): Date | undefined {
  return days > 0 ? new Date(now - days * DAY_MS) : undefined;
}
