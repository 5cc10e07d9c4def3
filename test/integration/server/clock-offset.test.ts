/**
 * A node started with KICI_FAULT_CLOCK_OFFSET_MS (a chaos run's skewed machine): its deadlines
 * still follow the database's clock, which measures the skew from the shifted clock and shows it
 * as kici_clock_skew_seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorRig } from './orchestrator-rig.js';

const HOUR_MS = 3_600_000;
const FAULTS = { KICI_DEV: 'true', KICI_FAULT_INJECTION: 'true' };

/** The value of an unlabelled gauge in a Prometheus scrape. */
function gauge(scrape: string, name: string): number {
  const line = scrape.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in the scrape`);
  return Number(line.slice(name.length + 1));
}

describe('a coordinator whose clock is an hour behind', () => {
  let rig: OrchestratorRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('reports the database an hour ahead of it, and counts its uptime from its real start', async () => {
    rig = await OrchestratorRig.start({ ...FAULTS, KICI_FAULT_CLOCK_OFFSET_MS: String(-HOUR_MS) });
    // The database's time minus this node's: the node reads an hour early, so the database is an hour ahead.
    const skewSeconds = gauge(await rig.metrics(), 'kici_clock_skew_seconds');
    expect(skewSeconds).toBeGreaterThan(HOUR_MS / 1000 - 5);
    expect(skewSeconds).toBeLessThan(HOUR_MS / 1000 + 5);
    const health = (await (await fetch(`${rig.url}/health`)).json()) as { uptime: number };
    expect(health.uptime).toBeGreaterThanOrEqual(0);
    expect(health.uptime).toBeLessThan(120);
  });

  it('shows no skew without the offset (the machine and the database share a clock here)', async () => {
    rig = await OrchestratorRig.start(FAULTS);
    expect(Math.abs(gauge(await rig.metrics(), 'kici_clock_skew_seconds'))).toBeLessThan(5);
  });
});
