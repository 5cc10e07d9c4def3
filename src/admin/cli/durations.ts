import { InvalidArgumentError } from 'commander';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * A duration as operators type one: `0`, or a whole number with a unit (`90s`, `30m`, `12h`, `30d`);
 * a bare number is seconds. One grammar for every flag that takes one (`--grace`, `--older-than`).
 */
export function durationSeconds(v: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 0, 90s, 30m, 1h or 2d, got "${v}"`);
  return Number(m[1]) * UNIT_SECONDS[(m[2] ?? 's') as keyof typeof UNIT_SECONDS];
}
