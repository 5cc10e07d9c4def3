/**
 * Appends racing for one step's log. Whatever interleaving the backend allows, the log must read as
 * whole appends one after another, then at most one cut append (the one that crossed the cap), then
 * the notice once: never more than cap + notice bytes, never the bytes of two appends mixed.
 */
import { expect, it } from 'vitest';
import { type StepLogStore, truncationNotice } from '../../src/store/index.js';
import type { ObjectStorageClaims, ObjectStorageContext } from './object-storage.contract.js';
import { ownJob } from './object-storage-step-logs.js';

/** Appends that name themselves (`<7:…>`), of different lengths, with multi-byte characters to cut. */
function distinctAppends(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `<${i}:${'é✓x'.repeat(3 + (i % 10))}>\n`);
}

/** Check `log` against the rule above, given what each append returned. */
function expectWholeAppendsUnderCap(log: Buffer, appends: string[], kept: number[], capBytes: number): void {
  const pieces = appends.map((a) => Buffer.from(a, 'utf8'));
  const notice = Buffer.from(truncationNotice(capBytes), 'utf8');
  const body = kept.reduce((a, b) => a + b, 0);
  expect(body).toBeLessThanOrEqual(capBytes);
  // The appends add up to more than the cap, so the notice must be there, once, at the end.
  expect(log.length).toBe(body + notice.length);
  expect(log.subarray(body).equals(notice)).toBe(true);

  const cut = kept.flatMap((k, i) => (k > 0 && k < pieces[i]!.length ? [i] : []));
  expect(cut.length).toBeLessThanOrEqual(1);
  const whole = kept.flatMap((k, i) => (k === pieces[i]!.length ? [i] : []));
  expect(kept.every((k, i) => k === 0 || k === pieces[i]!.length || cut.includes(i))).toBe(true);

  const seen: number[] = [];
  let at = 0;
  while (at < body) {
    const last = cut[0];
    if (last !== undefined && body - at === kept[last] && log.subarray(at, body).equals(pieces[last]!.subarray(0, kept[last]))) break;
    const name = /^<(\d+):/.exec(log.subarray(at, at + 8).toString('latin1'));
    expect(name, `an append starts at byte ${at}`).not.toBeNull();
    const i = Number(name![1]);
    expect(log.subarray(at, at + pieces[i]!.length).equals(pieces[i]!), `append ${i} is whole at byte ${at}`).toBe(true);
    seen.push(i);
    at += pieces[i]!.length;
  }
  expect(seen.sort((a, b) => a - b)).toEqual(whole);
}

async function readWhole(store: StepLogStore, run: string, job: string): Promise<Buffer> {
  const chunk = await store.read(run, job, 0, 0, 1 << 30);
  expect(chunk.nextOffset).toBe(chunk.size);
  return Buffer.from(chunk.text, 'utf8');
}

export function concurrencyContract(ctx: ObjectStorageContext, options: ObjectStorageClaims): void {
  it('appends of different lengths racing on one instance stay whole and under the cap', async () => {
    const { run, job } = ownJob();
    const store = ctx.backend().open({ stepLogCapBytes: 1001 }).stepLogs;
    const appends = distinctAppends(60);
    const kept = await Promise.all(appends.map((text) => store.append(run, job, 0, text)));
    const log = await readWhole(store, run, job);
    expectWholeAppendsUnderCap(log, appends, kept, 1001);
    expect(await store.listJobLogs(run, job)).toEqual([{ stepIndex: 0, bytes: log.length }]);
  });

  // Two filesystem stores appending to one file race (each queues only its own appends): that
  // backend is for one node, and claims no more.
  if (!options.shareable) return;

  // Skipped, not hidden, where the backend does not claim it (S3: one writer per step, the run's owner).
  it.skipIf(options.appendsFromTwoNodes === false)('appends racing from two nodes on one step stay whole and under the cap, with one notice', async () => {
    const capBytes = 1501;
    const { run, job } = ownJob();
    const first = ctx.backend().open({ stepLogCapBytes: capBytes }).stepLogs;
    const second = (await ctx.openAnother({ stepLogCapBytes: capBytes })).stepLogs;
    const appends = distinctAppends(80);
    expect(Buffer.byteLength(appends.join(''))).toBeGreaterThan(capBytes);
    const kept = await Promise.all(appends.map((text, i) => (i % 2 === 0 ? first : second).append(run, job, 0, text)));
    const log = await readWhole(second, run, job);
    expectWholeAppendsUnderCap(log, appends, kept, capBytes);
    expect((await readWhole(first, run, job)).equals(log)).toBe(true);
    expect(await first.listJobLogs(run, job)).toEqual([{ stepIndex: 0, bytes: log.length }]);
  });

  it('a second node sees the first node\'s blobs and step logs', async () => {
    const key = `shared/${ownJob().run}`;
    const { run, job } = ownJob();
    const first = ctx.backend().open();
    await first.blobs.put(key, Buffer.from('from the first node'));
    await first.stepLogs.append(run, job, 3, 'logged by the first node');
    const second = await ctx.openAnother();
    expect((await second.blobs.get(key))?.toString()).toBe('from the first node');
    expect((await second.stepLogs.read(run, job, 3)).text).toBe('logged by the first node');
  });
}
