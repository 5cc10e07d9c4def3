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

  it("runs on the leader only while its term is the term of record: a deposed coordinator's sweep is skipped", async () => {
    const orgId = uniqueOrg();
    const key = `${orgId}:src_sweep:old`;
    await store().deliveries.record(
      { orgId, deliveryId: 'old', sourceId: 'src_sweep', sourceKind: 'generic', eventType: 'e', headers: {}, body: Buffer.from('{}'), dedupKey: key, dedupTtlMs: HOUR },
      new Date(T0),
    );
    await store().coordinatorTerm.reset();
    const clock = new ManualClock(T0 + 2 * HOUR);
    /** A node that believes it leads at `term` (its Raft has not heard of a newer leader). */
    const leaderAt = (term: number) => ({ isLeader: () => true, term: () => term, onChange: () => () => {} });
    const dutiesOf = (node: string, term: number, deposed: string[]) =>
      new CoordinatorDuties(
        leaderAt(term),
        clock,
        (duty, e) => {
          throw new Error(`${duty} failed: ${(e as Error).message}`);
        },
        (t) => store().coordinatorTerm.claim({ term: t, node }, new Date(clock.now())),
        (duty) => void deposed.push(duty),
      );
    const oldDeposed: string[] = [];
    const oldLeader = dutiesOf('node-a', 4, oldDeposed);
    const newLeader = dutiesOf('node-b', 5, []);
    // The new leader claims its term first (its own duty, here a no-op), then the old one tries.
    await newLeader.runOnce({ name: 'claim', everyMs: MINUTE, run: async () => {} });
    await oldLeader.runOnce(dedupKeySweep(store(), clock, 'node-a'));
    expect(oldDeposed).toEqual(['dedup-keys']);
    expect((await store().deliveries.findByDedupKey(key, new Date(T0)))?.deliveryId).toBe('old');
    await newLeader.runOnce(dedupKeySweep(store(), clock, 'node-b'));
    expect(await store().deliveries.findByDedupKey(key, new Date(T0))).toBeNull();
    oldLeader.stop();
    newLeader.stop();
  });
});
