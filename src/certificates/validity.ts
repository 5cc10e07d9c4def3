/** When a certificate this room issues is valid. */

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Certificates start a little before they are made: nodes' clocks differ by seconds or minutes,
 * and a certificate that a peer with a slower clock reads as "not yet valid" would fail its very
 * first handshake.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;

export function validityPeriod(now: Date, validDays: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS), notAfter: new Date(now.getTime() + validDays * DAY_MS) };
}
