import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilesystemStepLogStore, truncationNotice } from '../../../src/store/index.js';

const dirs: string[] = [];
function store(capBytes: number): FilesystemStepLogStore {
  const dir = mkdtempSync(join(tmpdir(), 'kici-logs-'));
  dirs.push(dir);
  return new FilesystemStepLogStore(dir, { capBytes });
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const RUN = '00000000-0000-4000-8000-000000000001';
const JOB = '00000000-0000-4000-8000-000000000002';

describe('FilesystemStepLogStore', () => {
  it('appends and reads back from an offset', async () => {
    const logs = store(1024);
    expect(await logs.append(RUN, JOB, 0, 'hello ')).toBe(6);
    expect(await logs.append(RUN, JOB, 0, 'world\n')).toBe(6);
    const all = await logs.read(RUN, JOB, 0);
    expect(all).toEqual({ text: 'hello world\n', nextOffset: 12, size: 12 });
    const tail = await logs.read(RUN, JOB, 0, 6);
    expect(tail.text).toBe('world\n');
    const nothing = await logs.read(RUN, JOB, 0, all.nextOffset);
    expect(nothing).toEqual({ text: '', nextOffset: 12, size: 12 });
  });

  it('reads an absent log as empty', async () => {
    const logs = store(1024);
    expect(await logs.read(RUN, JOB, 3)).toEqual({ text: '', nextOffset: 0, size: 0 });
    expect(await logs.listJobLogs(RUN, JOB)).toEqual([]);
  });

  it('keeps what fits under the cap, writes the notice once, and drops the rest', async () => {
    const logs = store(10);
    expect(await logs.append(RUN, JOB, 1, '12345678')).toBe(8);
    expect(await logs.append(RUN, JOB, 1, 'abcdef')).toBe(2);
    expect(await logs.append(RUN, JOB, 1, 'more')).toBe(0);
    expect(await logs.append(RUN, JOB, 1, 'and more')).toBe(0);
    const { text } = await logs.read(RUN, JOB, 1);
    expect(text).toBe(`12345678ab${truncationNotice(10)}`);
    expect(text.split('log truncated')).toHaveLength(2);
  });

  it('filling the cap exactly writes no notice until something overflows', async () => {
    const logs = store(4);
    expect(await logs.append(RUN, JOB, 0, 'abcd')).toBe(4);
    expect((await logs.read(RUN, JOB, 0)).text).toBe('abcd');
    expect(await logs.append(RUN, JOB, 0, 'e')).toBe(0);
    expect((await logs.read(RUN, JOB, 0)).text).toBe(`abcd${truncationNotice(4)}`);
  });

  it('never splits a multi-byte character at the cap', async () => {
    const logs = store(5);
    // 'é' is two bytes: 'abcd' + half of 'é' would be 5 bytes.
    expect(await logs.append(RUN, JOB, 0, 'abcdé')).toBe(4);
    expect((await logs.read(RUN, JOB, 0)).text).toBe(`abcd${truncationNotice(5)}`);
  });

  it('serialises concurrent appends so the cap holds', async () => {
    const logs = store(100);
    const accepted = await Promise.all(Array.from({ length: 30 }, () => logs.append(RUN, JOB, 0, '0123456789')));
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(100);
    const { text } = await logs.read(RUN, JOB, 0);
    expect(text).toBe('0123456789'.repeat(10) + truncationNotice(100));
  });

  it('reads in pieces without splitting characters', async () => {
    const logs = store(1024);
    await logs.append(RUN, JOB, 0, 'aé✓b');
    let offset = 0;
    let text = '';
    for (let i = 0; i < 20; i++) {
      const chunk = await logs.read(RUN, JOB, 0, offset, 2);
      if (chunk.nextOffset === offset && chunk.text === '') {
        if (offset >= chunk.size) break;
        // a character wider than the window: widen it
        const wide = await logs.read(RUN, JOB, 0, offset, 4);
        text += wide.text;
        offset = wide.nextOffset;
        continue;
      }
      text += chunk.text;
      offset = chunk.nextOffset;
    }
    expect(text).toBe('aé✓b');
  });

  it('lists the logs of a job by step index', async () => {
    const logs = store(1024);
    await logs.append(RUN, JOB, 2, 'xx');
    await logs.append(RUN, JOB, 0, 'y');
    await logs.append(RUN, JOB, 10, 'zzz');
    expect(await logs.listJobLogs(RUN, JOB)).toEqual([
      { stepIndex: 0, bytes: 1 },
      { stepIndex: 2, bytes: 2 },
      { stepIndex: 10, bytes: 3 },
    ]);
  });

  it('keeps ids from escaping the log directory', async () => {
    const logs = store(1024);
    await logs.append('../../etc', JOB, 0, 'x');
    expect((await logs.read('../../etc', JOB, 0)).text).toBe('x');
    expect(await logs.listJobLogs(RUN, JOB)).toEqual([]);
    await expect(logs.append(RUN, JOB, -1, 'x')).rejects.toThrow(/step index/);
  });
});
