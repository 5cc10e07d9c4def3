/**
 * How a webhook delivery ended, as the event log stores and shows it. `received` is the only
 * unfinished one: a delivery a crash left there is processed again on the next start.
 */
export const DELIVERY_STATUSES = [
  'received',
  'processed',
  'duplicate',
  'filtered',
  'lockfile_missing',
  'lockfile_corrupt',
  'failed',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
