import { expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { CoordinatorDuties, SingleNodeLeadership } from '../../../src/cluster/index.js';
import { dedupKeySweep } from '../../../src/deliveries/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const MINUTE = 60_000;

describeOnBothDrivers('coordinator sweeps: dedup keys', (store) => {
  it('sweeps dedup keys past their window every five minutes, and keeps live ones', async () => {
    const orgId = uniqueOrg();
    const key = (deliveryId: string) => `${orgId}:src_sweep:${deliveryId}`;
    const record = (deliveryId: string, dedupTtlMs: number) =>
      store().deliveries.record(
        { orgId, deliveryId, sourceId: 'src_sweep', sourceKind: 'generic', eventType: 'e', headers: {}, body: Buffer.from('{}'), dedupKey: key(deliveryId), dedupTtlMs },
        new Date(T0),
      );
    await record('short', HOUR);
    await record('long', 3 * HOUR);

    const clock = new ManualClock(T0 + 2 * HOUR);
    const system = new ActorSystem({ nodeId: 'node-a', clock });
    const duties = new CoordinatorDuties(new SingleNodeLeadership(), clock, (duty, e) => {
      throw new Error(`${duty} failed: ${(e as Error).message}`);
    });
    const sweep = dedupKeySweep(store(), clock);
    expect(sweep.name).toBe('dedup-keys');
    expect(sweep?.everyMs).toBe(5 * MINUTE);
    duties.add(sweep!);

    // Looked up as of T0, when both keys were live: only a deleted row answers null.
    const seen = async (deliveryId: string) => (await store().deliveries.findByDedupKey(key(deliveryId), new Date(T0)))?.deliveryId ?? null;
    clock.advance(5 * MINUTE - 1);
    expect(await seen('short')).toBe('short');

    clock.advance(1);
    await expect.poll(() => seen('short')).toBeNull();
    expect(await seen('long')).toBe('long');
    duties.stop();
    await system.shutdown();
  });
});
