/** StepLogStore: byte offsets, the cap rule, and reads that hand back whole characters. */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES, type StepLogStore, truncationNotice } from '../../src/store/index.js';
import type { ObjectStorageContext } from './object-storage.contract.js';

/** A run and job of this test's own. */
export const ownJob = (): { run: string; job: string } => ({ run: randomUUID(), job: randomUUID() });

export function stepLogsContract(ctx: ObjectStorageContext): void {
  const logs = (capBytes?: number): StepLogStore => ctx.backend().open({ stepLogCapBytes: capBytes }).stepLogs;

  it('appends and reads back from an offset', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    expect(await store.append(run, job, 0, 'hello ')).toBe(6);
    expect(await store.append(run, job, 0, 'world\n')).toBe(6);
    const all = await store.read(run, job, 0);
    expect(all).toEqual({ text: 'hello world\n', nextOffset: 12, size: 12 });
    expect(await store.read(run, job, 0, 6)).toEqual({ text: 'world\n', nextOffset: 12, size: 12 });
    expect(await store.read(run, job, 0, all.nextOffset)).toEqual({ text: '', nextOffset: 12, size: 12 });
  });

  it('reads an absent log as empty, from any offset', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    expect(await store.read(run, job, 3)).toEqual({ text: '', nextOffset: 0, size: 0 });
    expect(await store.read(run, job, 3, 5)).toEqual({ text: '', nextOffset: 0, size: 0 });
    expect(await store.listJobLogs(run, job)).toEqual([]);
  });

  it('clamps offsets outside the log and honours a zero window', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    await store.append(run, job, 0, 'abcdef');
    expect(await store.read(run, job, 0, 100)).toEqual({ text: '', nextOffset: 6, size: 6 });
    expect(await store.read(run, job, 0, -4, 3)).toEqual({ text: 'abc', nextOffset: 3, size: 6 });
    expect(await store.read(run, job, 0, 2, 0)).toEqual({ text: '', nextOffset: 2, size: 6 });
  });

  it('an empty append keeps nothing and makes no log', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    expect(await store.append(run, job, 0, '')).toBe(0);
    expect(await store.listJobLogs(run, job)).toEqual([]);
    expect(await store.read(run, job, 0)).toEqual({ text: '', nextOffset: 0, size: 0 });
  });

  it('keeps what fits under the cap, writes the notice once, and drops the rest', async () => {
    const { run, job } = ownJob();
    const store = logs(10);
    expect(await store.append(run, job, 1, '12345678')).toBe(8);
    expect(await store.append(run, job, 1, 'abcdef')).toBe(2);
    expect(await store.append(run, job, 1, 'more')).toBe(0);
    expect(await store.append(run, job, 1, 'and more')).toBe(0);
    const { text, size } = await store.read(run, job, 1);
    expect(text).toBe(`12345678ab${truncationNotice(10)}`);
    expect(text.split('log truncated')).toHaveLength(2);
    expect(size).toBe(10 + Buffer.byteLength(truncationNotice(10)));
    expect(await store.listJobLogs(run, job)).toEqual([{ stepIndex: 1, bytes: size }]);
  });

  it('filling the cap exactly writes no notice until something overflows', async () => {
    const { run, job } = ownJob();
    const store = logs(4);
    expect(await store.append(run, job, 0, 'abcd')).toBe(4);
    expect((await store.read(run, job, 0)).text).toBe('abcd');
    expect(await store.append(run, job, 0, '')).toBe(0);
    expect((await store.read(run, job, 0)).text).toBe('abcd');
    expect(await store.append(run, job, 0, 'e')).toBe(0);
    expect((await store.read(run, job, 0)).text).toBe(`abcd${truncationNotice(4)}`);
  });

  it('never splits a multi-byte character at the cap', async () => {
    const { run, job } = ownJob();
    const store = logs(5);
    // 'é' is two bytes: 'abcd' + half of 'é' would be 5 bytes.
    expect(await store.append(run, job, 0, 'abcdé')).toBe(4);
    expect((await store.read(run, job, 0)).text).toBe(`abcd${truncationNotice(5)}`);
  });

  it('keeps the cap rule across a restart: a new instance neither appends past the notice nor repeats it', async () => {
    const crossed = ownJob();
    expect(await logs(10).append(crossed.run, crossed.job, 0, '0123456789abc')).toBe(10);
    expect(await logs(10).append(crossed.run, crossed.job, 0, 'later')).toBe(0);
    expect((await logs(10).read(crossed.run, crossed.job, 0)).text).toBe(`0123456789${truncationNotice(10)}`);

    const filled = ownJob();
    expect(await logs(10).append(filled.run, filled.job, 0, '0123456789')).toBe(10);
    expect(await logs(10).append(filled.run, filled.job, 0, 'x')).toBe(0);
    expect(await logs(10).append(filled.run, filled.job, 0, 'y')).toBe(0);
    expect((await logs(10).read(filled.run, filled.job, 0)).text).toBe(`0123456789${truncationNotice(10)}`);
  });

  it('serialises concurrent appends on one instance so the cap holds', async () => {
    const { run, job } = ownJob();
    const store = logs(100);
    const accepted = await Promise.all(Array.from({ length: 30 }, () => store.append(run, job, 0, '0123456789')));
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(100);
    expect((await store.read(run, job, 0)).text).toBe('0123456789'.repeat(10) + truncationNotice(100));
  });

  it('reads in pieces without splitting characters', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    await store.append(run, job, 0, 'aé✓b');
    let offset = 0;
    let text = '';
    for (let i = 0; i < 20; i++) {
      const chunk = await store.read(run, job, 0, offset, 2);
      if (chunk.nextOffset === offset && chunk.text === '') {
        if (offset >= chunk.size) break;
        // a character wider than the window: widen it
        const wide = await store.read(run, job, 0, offset, 4);
        text += wide.text;
        offset = wide.nextOffset;
        continue;
      }
      text += chunk.text;
      offset = chunk.nextOffset;
    }
    expect(text).toBe('aé✓b');
  });

  it('every window over a log of many appends ends on the last whole character it holds', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    const appends = ['ab', 'é', '✓✓', 'c', '😀', 'dé', '✓', 'xyz😀', 'é', 'q', '✓é😀', 'end\n'];
    for (const text of appends) await store.append(run, job, 0, text);
    const whole = Buffer.from(appends.join(''), 'utf8');
    // Offsets where a character starts, and the end of the log.
    const boundaries = [...Array.from({ length: whole.length }, (_, i) => i).filter((i) => (whole[i]! & 0xc0) !== 0x80), whole.length];
    for (const start of boundaries) {
      for (const maxBytes of [1, 2, 3, 4, 5, 6, 7, 9, 13, 1000]) {
        const end = Math.max(...boundaries.filter((b) => b <= Math.min(start + maxBytes, whole.length)));
        const expected = { text: whole.subarray(start, end).toString('utf8'), nextOffset: end, size: whole.length };
        expect({ start, maxBytes, chunk: await store.read(run, job, 0, start, maxBytes) }).toEqual({ start, maxBytes, chunk: expected });
      }
    }
  });

  it('a read that starts inside a character hands back its broken tail as U+FFFD', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    await store.append(run, job, 0, 'aé');
    await store.append(run, job, 0, '✓b');
    // Byte 2 is the second half of 'é'.
    expect(await store.read(run, job, 0, 2)).toEqual({ text: '\uFFFD✓b', nextOffset: 7, size: 7 });
  });

  it('a full-size log (the default cap) reads back at any offset, a megabyte at a time by default', async () => {
    const { run, job } = ownJob();
    const store = logs();
    const piece = (i: number) => String.fromCharCode(97 + i).repeat(1_000_000);
    const kept: number[] = [];
    for (let i = 0; i < 12; i++) kept.push(await store.append(run, job, 0, piece(i)));
    const notice = truncationNotice(STEP_LOG_CAP_BYTES);
    expect(kept).toEqual([...Array<number>(10).fill(1_000_000), STEP_LOG_CAP_BYTES - 10_000_000, 0]);
    const size = STEP_LOG_CAP_BYTES + Buffer.byteLength(notice);
    const whole = Array.from({ length: 10 }, (_, i) => piece(i)).join('') + piece(10).slice(0, STEP_LOG_CAP_BYTES - 10_000_000) + notice;

    const middle = await store.read(run, job, 0, 5_500_000);
    expect(middle.nextOffset).toBe(5_500_000 + STEP_LOG_READ_BYTES);
    expect(middle.size).toBe(size);
    expect(middle.text === whole.slice(5_500_000, 5_500_000 + STEP_LOG_READ_BYTES)).toBe(true);

    const tail = await store.read(run, job, 0, STEP_LOG_CAP_BYTES - 10);
    expect(tail).toEqual({ text: 'k'.repeat(10) + notice, nextOffset: size, size });
  });

  it('lists the logs of a job by step index', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    await store.append(run, job, 2, 'xx');
    await store.append(run, job, 0, 'y');
    await store.append(run, job, 10, 'zzz');
    await store.append(run, randomUUID(), 1, 'another job');
    expect(await store.listJobLogs(run, job)).toEqual([
      { stepIndex: 0, bytes: 1 },
      { stepIndex: 2, bytes: 2 },
      { stepIndex: 10, bytes: 3 },
    ]);
  });

  it('treats ids as opaque and refuses step indexes that are not 0, 1, 2, …', async () => {
    const { run, job } = ownJob();
    const store = logs(1024);
    const escaping = `../../etc/${randomUUID()}`;
    await store.append(escaping, job, 0, 'x');
    expect((await store.read(escaping, job, 0)).text).toBe('x');
    expect(await store.listJobLogs(escaping, job)).toEqual([{ stepIndex: 0, bytes: 1 }]);
    expect(await store.listJobLogs(run, job)).toEqual([]);
    for (const stepIndex of [-1, 1.5, Number.NaN]) {
      await expect(store.append(run, job, stepIndex, 'x')).rejects.toThrow(/step index/);
      await expect(store.read(run, job, stepIndex)).rejects.toThrow(/step index/);
    }
    expect(await store.listJobLogs(run, job)).toEqual([]);
  });

  it('deletes every log of a run, all its jobs, and only that run (retention)', async () => {
    const { run, job } = ownJob();
    const otherJob = randomUUID();
    const kept = ownJob();
    const store = logs(1024);
    await store.append(run, job, 0, 'hello');
    await store.append(run, job, 2, 'é!');
    await store.append(run, otherJob, 0, 'abc');
    await store.append(kept.run, kept.job, 0, 'stays');
    // 5 + 3 ('é' is two bytes) + 3.
    expect(await store.deleteRunLogs(run)).toBe(11);
    expect(await store.listJobLogs(run, job)).toEqual([]);
    expect(await store.listJobLogs(run, otherJob)).toEqual([]);
    expect(await store.read(run, job, 0)).toEqual({ text: '', nextOffset: 0, size: 0 });
    expect((await store.read(kept.run, kept.job, 0)).text).toBe('stays');
    // Nothing left: a repeat, or a run that never had logs, removes nothing.
    expect(await store.deleteRunLogs(run)).toBe(0);
    expect(await store.deleteRunLogs(randomUUID())).toBe(0);
  });

  it('deletes a run whose id would escape the store, inside the store', async () => {
    const { job } = ownJob();
    const store = logs(1024);
    const escaping = `../${randomUUID()}`;
    await store.append(escaping, job, 0, 'x');
    expect(await store.deleteRunLogs(escaping)).toBe(1);
    expect(await store.listJobLogs(escaping, job)).toEqual([]);
  });
}
