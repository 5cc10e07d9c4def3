/**
 * The coordinator's term of record: a later term takes it, an earlier one never does, and a duty
 * write made under a claim that has been passed goes nowhere, in the same statement.
 */
import { beforeEach, expect, it } from 'vitest';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const HOUR = 3600_000;

describeOnBothDrivers('coordinator term', (store) => {
  beforeEach(async () => {
    await store().coordinatorTerm.reset();
  });

  it('is claimed by a later term, kept by its holder, and refused to an earlier term or another node at the same term', async () => {
    const terms = store().coordinatorTerm;
    expect(await terms.current()).toBeNull();
    expect(await terms.claim({ term: 3, node: 'node-a' }, T0)).toBe(true);
    expect(await terms.claim({ term: 3, node: 'node-a' }, T0)).toBe(true);
    expect(await terms.claim({ term: 3, node: 'node-b' }, T0)).toBe(false);
    expect(await terms.claim({ term: 5, node: 'node-b' }, T0)).toBe(true);
    // The old leader, not yet told it lost, tries again with its term.
    expect(await terms.claim({ term: 3, node: 'node-a' }, T0)).toBe(false);
    expect(await terms.current()).toEqual({ term: 5, node: 'node-b' });
  });

  it("a deposed coordinator's dedup-key sweep deletes nothing; the current one's does", async () => {
    const orgId = uniqueOrg();
    const deliveries = store().deliveries;
    const record = (id: string, at = T0) =>
      deliveries.record(
        { orgId, deliveryId: id, sourceId: 'src_test', sourceKind: 'generic', eventType: 'push', headers: {}, body: Buffer.from('{}'), dedupKey: `${orgId}:the-key`, dedupTtlMs: HOUR },
        at,
      );
    await record('old-key');
    await store().coordinatorTerm.claim({ term: 7, node: 'node-a' }, T0);
    await store().coordinatorTerm.claim({ term: 8, node: 'node-b' }, T0);
    const later = new Date(T0.getTime() + 2 * HOUR);
    expect(await deliveries.sweepDedupKeys(later, { term: 7, node: 'node-a' })).toBe(0);
    expect(await deliveries.sweepDedupKeys(later, { term: 8, node: 'node-b' })).toBeGreaterThanOrEqual(1);
    // Swept: another delivery with the same key is accepted now.
    expect((await record('new-key', later)).outcome).toBe('accepted');
  });
});
