import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeOnBothDrivers } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const sha = (c: string) => c.repeat(40);
const sourceId = () => `src_${randomBytes(6).toString('hex')}`;

describeOnBothDrivers('ref tips', (store) => {
  it('advances a ref tip, lists a source’s tips by ref, and keeps sources apart', async () => {
    const id = sourceId();
    expect(await store().refTips.get(id, 'refs/heads/main')).toBeNull();
    await store().refTips.advance(id, 'refs/heads/main', sha('a'), later(1));
    await store().refTips.advance(id, 'refs/heads/main', sha('b'), later(2));
    await store().refTips.advance(id, 'refs/heads/dev', sha('c'), later(3));
    await store().refTips.advance(sourceId(), 'refs/heads/main', sha('d'), later(4));
    expect(await store().refTips.get(id, 'refs/heads/main')).toEqual({ sourceId: id, ref: 'refs/heads/main', sha: sha('b'), updatedAt: later(2) });
    expect((await store().refTips.list(id)).map((t) => [t.ref, t.sha])).toEqual([
      ['refs/heads/dev', sha('c')],
      ['refs/heads/main', sha('b')],
    ]);
  });

  it('a baseline records the tips deliveries have not, once', async () => {
    const id = sourceId();
    expect(await store().refTips.hasBaseline(id)).toBe(false);
    await store().refTips.advance(id, 'refs/heads/main', sha('a'), later(1));
    await store().refTips.recordBaseline(id, [{ ref: 'refs/heads/main', sha: sha('b') }, { ref: 'refs/heads/dev', sha: sha('c') }], later(2));
    expect(await store().refTips.hasBaseline(id)).toBe(true);
    // A delivery's tip is the last processed commit: the baseline does not overwrite it.
    expect((await store().refTips.list(id)).map((t) => [t.ref, t.sha])).toEqual([
      ['refs/heads/dev', sha('c')],
      ['refs/heads/main', sha('a')],
    ]);
    await store().refTips.recordBaseline(id, [], later(3));
    expect(await store().refTips.hasBaseline(id)).toBe(true);
  });

  it('the first delivery to claim a pushed commit owns its runs until it releases them', async () => {
    const id = sourceId();
    const claim = (deliveryId: string) => store().refTips.claimPush(id, 'refs/heads/main', sha('a'), deliveryId, later(1));
    expect(await claim('hook-1')).toBe('hook-1');
    expect(await claim('reconcile-1')).toBe('hook-1');
    // The owner itself again (a delivery resumed after a crash) is still the owner.
    expect(await claim('hook-1')).toBe('hook-1');
    expect(await store().refTips.claimPush(id, 'refs/heads/dev', sha('a'), 'reconcile-2', later(1))).toBe('reconcile-2');

    await store().refTips.releasePush(id, 'refs/heads/main', sha('a'), 'reconcile-1');
    expect(await claim('spool-1')).toBe('hook-1');
    await store().refTips.releasePush(id, 'refs/heads/main', sha('a'), 'hook-1');
    expect(await claim('spool-1')).toBe('spool-1');
  });

  it('a claim can advance the ref’s tip in the same write, claimed or not', async () => {
    const id = sourceId();
    expect(await store().refTips.claimPush(id, 'refs/heads/main', sha('a'), 'd-1', later(1), { advanceTip: true })).toBe('d-1');
    expect((await store().refTips.get(id, 'refs/heads/main'))?.sha).toBe(sha('a'));
    await store().refTips.advance(id, 'refs/heads/main', sha('b'), later(2));
    // An older push delivered again is a duplicate, and still the last processed commit.
    expect(await store().refTips.claimPush(id, 'refs/heads/main', sha('a'), 'd-2', later(3), { advanceTip: true })).toBe('d-1');
    expect(await store().refTips.get(id, 'refs/heads/main')).toMatchObject({ sha: sha('a'), updatedAt: later(3) });
    expect(await store().refTips.claimPush(id, 'refs/tags/v1', sha('a'), 'd-3', later(4))).toBe('d-3');
    expect(await store().refTips.get(id, 'refs/tags/v1')).toBeNull();
  });
});
