/** Retention's core over in-memory ports: what it does when an object cannot be deleted. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { Retention, type RetentionDeps } from '../../../src/retention/index.js';
import type { DeliveryKey } from '../../../src/store/index.js';

function fakeStore(keys: DeliveryKey[], runIds: string[]) {
  const removed: DeliveryKey[] = [];
  const marked: string[] = [];
  const store = {
    deliveries: {
      withExpiredPayloads: async (_before: Date, limit: number) => keys.filter((k) => !removed.includes(k)).slice(0, limit),
      removePayloads: async (done: readonly DeliveryKey[]) => (removed.push(...done), done.length),
    },
    runs: {
      withExpiredLogs: async (_before: Date, limit: number) => runIds.filter((id) => !marked.includes(id)).slice(0, limit),
      markLogsRemoved: async (ids: readonly string[]) => (marked.push(...ids), ids.length),
    },
  } as unknown as RetentionDeps['store'];
  return { store, removed, marked };
}

describe('Retention', () => {
  it('marks what it deleted and reports the first failure after, so one bad object never holds up the batch', async () => {
    const keys = ['a', 'b', 'c'].map((id) => ({ orgId: 'acme', deliveryId: id }));
    const { store, removed, marked } = fakeStore(keys, ['r1', 'r2']);
    const retention = new Retention({
      store,
      blobs: { delete: async (key: string) => (key.includes('/b.json') ? Promise.reject(new Error('blob store down')) : true) },
      stepLogs: { deleteRunLogs: async (runId: string) => (runId === 'r2' ? Promise.reject(new Error('logs down')) : 10) },
      clock: new ManualClock(Date.parse('2026-06-01T00:00:00Z')),
    });
    // Both kinds are tried in the tick; the first failure is reported after.
    await expect(retention.sweep({ deliveryDays: 30, logDays: 90 })).rejects.toThrow('blob store down');
    expect(removed.map((k) => k.deliveryId).sort()).toEqual(['a', 'c']);
    expect(marked).toEqual(['r1']);
    await expect(retention.logBatch(new Date())).rejects.toThrow('logs down');
  });

  it('stops a purge when a batch removes nothing, rather than spin', async () => {
    const keys = [{ orgId: 'acme', deliveryId: 'x' }];
    const { store } = fakeStore(keys, []);
    let reads = 0;
    const stuck = {
      ...store,
      deliveries: { withExpiredPayloads: async () => (reads++, keys), removePayloads: async () => 0 },
    } as unknown as RetentionDeps['store'];
    const retention = new Retention({ store: stuck, blobs: { delete: async () => false }, stepLogs: { deleteRunLogs: async () => 0 }, clock: new ManualClock(0), batch: { payloads: 1 } });
    expect(await retention.purge({ olderThanMs: 1, payloads: true, logs: false })).toMatchObject({ payloads: 0 });
    expect(reads).toBe(1);
  });
});
