import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Spool } from '../../../src/spool/index.js';
import { gapMarkerText, WorkerOutbox, type DroppedLog, type HeldReport, type StoredReport } from '../../../src/worker/index.js';

let root: string;
let dir: string;
let dropped: DroppedLog[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kici-worker-outbox-'));
  dir = join(root, 'outbox');
  dropped = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A fresh process's view of the same directory. */
const open = (maxBytes = 1024 * 1024): WorkerOutbox => WorkerOutbox.open(dir, { maxBytes, onDropped: (d) => dropped.push(d) });

const acked = (jobId: string, runId = 'run-1'): HeldReport => ({ runId, message: { type: 'job_acked', jobId, agentId: 'agent-1' } });
const started = (jobId: string, runId = 'run-1'): HeldReport => ({ runId, message: { type: 'job_started', jobId, agentId: 'agent-1' } });
const stepDone = (jobId: string, stepIndex: number, runId = 'run-1'): HeldReport => ({
  runId,
  message: { type: 'step_status', jobId, agentId: 'agent-1', stepIndex, status: 'success', exitCode: 0 },
});
const finished = (jobId: string, runId = 'run-1'): HeldReport => ({
  runId,
  message: { type: 'job_finished', jobId, agentId: 'agent-1', status: 'success', outputs: { version: '1.2.3' } },
});
const logs = (jobId: string, stepIndex: number, text: string, runId = 'run-1'): HeldReport => ({
  runId,
  message: { type: 'job_logs', jobId, agentId: 'agent-1', stepIndex, text },
});
const chunk = (tag: string, size = 1000): string => `${tag}:`.padEnd(size - 1, '.') + '\n';

/** A short name per entry, to read the order at a glance. */
function shape(entry: StoredReport): string {
  const m = entry.report.message;
  if (m.type !== 'job_logs') return `${m.type} ${m.jobId}`;
  if (entry.dropped !== undefined) return `gap ${m.jobId}/${m.stepIndex} ${entry.dropped}`;
  return `logs ${m.jobId}/${m.stepIndex} ${m.text.split(':')[0]!.trim()}`;
}
const shapes = (outbox: WorkerOutbox): string[] => outbox.list().map(shape);

/** What the files on disk add up to: the outbox's own count must agree. */
function onDisk(): { files: number; bytes: number } {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  return { files: names.length, bytes: names.reduce((sum, n) => sum + statSync(join(dir, n)).size, 0) };
}
const fileSize = (report: HeldReport, dropped?: number): number => Buffer.byteLength(JSON.stringify({ ...report, ...(dropped ? { dropped } : {}) }));

describe('worker outbox', () => {
  it('hands reports back oldest first and forgets a removed one', async () => {
    const outbox = open();
    expect(outbox.oldest()).toBeUndefined();
    await outbox.append(acked('a'));
    await outbox.append(started('a'));
    await outbox.append(logs('a', 0, 'hello\n'));
    await outbox.append(finished('a'));
    expect(outbox.depth).toBe(4);
    expect(outbox.bytes).toBe(onDisk().bytes);
    expect(shapes(outbox)).toEqual(['job_acked a', 'job_started a', 'logs a/0 hello', 'job_finished a']);

    const first = outbox.oldest()!;
    expect(first.report).toEqual(acked('a'));
    expect(first.bytes).toBe(fileSize(acked('a')));
    outbox.remove(first.seq);
    expect(outbox.oldest()!.report).toEqual(started('a'));
    // Removing something not held (twice, or a number never given) changes nothing.
    outbox.remove(first.seq);
    outbox.remove(9999);
    const third = outbox.list()[1]!;
    outbox.remove(third.seq);
    expect(shapes(outbox)).toEqual(['job_started a', 'job_finished a']);
    expect(outbox.depth).toBe(2);
    expect(outbox.bytes).toBe(onDisk().bytes);
    expect(onDisk().files).toBe(2);
    // list() is a copy: changing it changes nothing held.
    outbox.list().pop();
    expect(outbox.depth).toBe(2);
  });

  it('keeps appends made together in the order they were made, with one directory fsync for them all', async () => {
    const outbox = open();
    const syncs = vi.spyOn(Spool.prototype, 'syncDirectory');
    await Promise.all(Array.from({ length: 20 }, (_, i) => outbox.append(logs('a', 0, `line ${i}:\n`))));
    expect(syncs).toHaveBeenCalledTimes(1);
    syncs.mockRestore();
    const expected = Array.from({ length: 20 }, (_, i) => `logs a/0 line ${i}`);
    expect(shapes(outbox)).toEqual(expected);
    expect(shapes(open())).toEqual(expected);
  });

  it('is read back by a new process in the same order, with the same depth and bytes', async () => {
    const first = open();
    await first.append(acked('a'));
    await first.append(logs('a', 0, 'one\n'));
    await first.append(stepDone('a', 0));
    await first.append(finished('a', 'run-2'));
    first.remove(first.oldest()!.seq);

    const second = open();
    expect(second.loaded).toEqual({ entries: 3, unfinished: 0, corrupt: [] });
    expect(second.list()).toEqual(first.list());
    expect(second.depth).toBe(first.depth);
    expect(second.bytes).toBe(first.bytes);
    // What a later process adds comes after what the earlier one held.
    await second.append(acked('b'));
    expect(shapes(open())).toEqual(['logs a/0 one', 'step_status a', 'job_finished a', 'job_acked b']);
    expect(open().list().map((e) => e.report.runId)).toEqual(['run-1', 'run-1', 'run-2', 'run-1']);
  });

  it('removes a half-written file and sets aside one that does not parse', async () => {
    const first = open();
    await first.append(acked('a'));
    await first.append(acked('b'));
    const [, second] = readdirSync(dir).sort();
    // A kill -9 between write and rename leaves a temporary file, cut short.
    writeFileSync(join(dir, '0000000000000003.json.tmp'), '{"runId":"run-1","message":{"type":"job_');
    // A damaged file, and reports of a kind the worker never holds or missing a field.
    writeFileSync(join(dir, second!), '{"runId":"run-1","mess');
    writeFileSync(join(dir, '0000000000000005.json'), JSON.stringify({ runId: 'run-1', message: { type: 'job_heartbeat', jobId: 'a', agentId: 'x' } }));
    writeFileSync(join(dir, '0000000000000006.json'), JSON.stringify({ runId: 'run-1', message: { type: 'job_logs', jobId: 'a', agentId: 'x' } }));

    const back = open();
    expect(back.loaded).toEqual({ entries: 1, unfinished: 1, corrupt: [second, '0000000000000005.json', '0000000000000006.json'] });
    expect(shapes(back)).toEqual(['job_acked a']);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.corrupt'))).toHaveLength(3);
    expect(back.bytes).toBe(onDisk().bytes);
    await back.append(acked('c'));
    expect(shapes(open())).toEqual(['job_acked a', 'job_acked c']);
  });

  it('drops the oldest log chunks first past its bound, one marker per step where its first chunk was', async () => {
    // Room for four chunks of about 1.1 KB (files, with their JSON) and two statuses.
    const outbox = open(5000);
    await outbox.append(stepDone('a', 0));
    await outbox.append(logs('a', 1, chunk('a1')));
    await outbox.append(logs('b', 0, chunk('b1')));
    await outbox.append(logs('a', 1, chunk('a2')));
    await outbox.append(finished('b'));
    await outbox.append(logs('a', 1, chunk('a3')));
    expect(dropped).toEqual([]);

    await outbox.append(logs('a', 1, chunk('a4')));
    expect(shapes(outbox)).toEqual(['step_status a', 'gap a/1 1000', 'logs b/0 b1', 'logs a/1 a2', 'job_finished b', 'logs a/1 a3', 'logs a/1 a4']);
    expect(outbox.bytes).toBeLessThanOrEqual(5000);

    // b's first chunk goes (its own marker, in its place), which is not room enough: a's second
    // goes too, counted on a's marker; then a5 pushes a3 out, counted there as well.
    await outbox.append(logs('b', 0, chunk('b2')));
    await outbox.append(logs('a', 1, chunk('a5')));
    expect(shapes(outbox)).toEqual(['step_status a', 'gap a/1 3000', 'gap b/0 1000', 'job_finished b', 'logs a/1 a4', 'logs b/0 b2', 'logs a/1 a5']);
    const drop = (jobId: string, stepIndex: number) => ({ runId: 'run-1', jobId, agentId: 'agent-1', stepIndex, bytes: 1000 });
    expect(dropped).toEqual([drop('a', 1), drop('b', 0), drop('a', 1), drop('a', 1)]);
    expect(outbox.bytes).toBeLessThanOrEqual(5000);
    expect(outbox.bytes).toBe(onDisk().bytes);
    expect(outbox.depth).toBe(onDisk().files);

    // The marker is a log line of the same run, job, agent and step, as the run reads it.
    const marker = outbox.list()[1]!;
    expect(marker.report).toEqual(logs('a', 1, gapMarkerText(3000)));
    expect(marker.report.message).toMatchObject({
      text: "[kici] 3000 bytes of this step's log were dropped: the edge worker's outbox was full while no coordinator was reachable\n",
    });
    expect(marker.bytes).toBe(fileSize(marker.report, 3000));
  });

  it('never drops a status, even past its bound', async () => {
    const size = fileSize(finished('job-0'));
    const outbox = open(3 * size);
    for (let i = 0; i < 5; i++) await outbox.append(finished(`job-${i}`));
    await outbox.append(stepDone('job-5', 0));
    expect(outbox.depth).toBe(6);
    expect(outbox.bytes).toBeGreaterThan(3 * size);
    // A log chunk has no room at all: it becomes its step's marker, and the statuses stay.
    await outbox.append(logs('job-5', 0, 'some output\n'));
    expect(shapes(outbox)).toEqual([
      'job_finished job-0',
      'job_finished job-1',
      'job_finished job-2',
      'job_finished job-3',
      'job_finished job-4',
      'step_status job-5',
      'gap job-5/0 12',
    ]);
    expect(shapes(open(3 * size))).toEqual(shapes(outbox));
  });

  it('keeps a marker across a restart, and goes on counting on it', async () => {
    const first = open(3700);
    await first.append(acked('a'));
    for (let i = 1; i <= 4; i++) await first.append(logs('a', 0, chunk(`a${i}`)));
    expect(shapes(first)).toEqual(['job_acked a', 'gap a/0 1000', 'logs a/0 a2', 'logs a/0 a3', 'logs a/0 a4']);

    const second = open(3700);
    expect(second.list()).toEqual(first.list());
    expect(second.bytes).toBe(first.bytes);
    await second.append(logs('a', 0, chunk('a5')));
    await second.append(logs('a', 0, chunk('a6')));
    expect(shapes(second)).toEqual(['job_acked a', 'gap a/0 3000', 'logs a/0 a4', 'logs a/0 a5', 'logs a/0 a6']);
    expect(second.list()[1]!.seq).toBe(first.list()[1]!.seq);
    expect(shapes(open(3700))).toEqual(shapes(second));
    expect(second.bytes).toBe(onDisk().bytes);

    // Once its marker is replayed, a later drop of the step starts a new one, where that chunk was.
    second.remove(second.oldest()!.seq);
    second.remove(second.oldest()!.seq);
    await second.append(logs('a', 0, chunk('a7')));
    await second.append(logs('a', 0, chunk('a8')));
    expect(shapes(second)).toEqual(['gap a/0 2000', 'logs a/0 a6', 'logs a/0 a7', 'logs a/0 a8']);
  });

  it('turns a log chunk bigger than the bound into a marker without writing it', async () => {
    const outbox = open(2000);
    await outbox.append(acked('a'));
    await outbox.append(logs('a', 0, chunk('huge', 5000)));
    expect(shapes(outbox)).toEqual(['job_acked a', 'gap a/0 5000']);
    expect(outbox.bytes).toBe(onDisk().bytes);
    expect(outbox.bytes).toBeLessThan(2000);
    // A second one counts on the same marker.
    await outbox.append(logs('a', 0, chunk('huge', 3000)));
    expect(shapes(open(2000))).toEqual(['job_acked a', 'gap a/0 8000']);
    expect(dropped.map((d) => d.bytes)).toEqual([5000, 3000]);
  });

  it('drops older chunks before a chunk that cannot fit, oldest first as always', async () => {
    const outbox = open(2500);
    await outbox.append(logs('a', 0, chunk('a1')));
    await outbox.append(logs('b', 0, chunk('b1', 4000)));
    expect(shapes(outbox)).toEqual(['gap a/0 1000', 'gap b/0 4000']);
    expect(outbox.bytes).toBe(onDisk().bytes);
  });

  it('applies a bound lowered since the last start', async () => {
    const first = open();
    await first.append(acked('a'));
    for (let i = 1; i <= 3; i++) await first.append(logs('a', 0, chunk(`a${i}`)));
    const second = open(2000);
    expect(shapes(second)).toEqual(['job_acked a', 'gap a/0 2000', 'logs a/0 a3']);
    expect(shapes(open(2000))).toEqual(shapes(second));
  });

  it('keeps counting what did not arrive when the chunk being replayed was dropped meanwhile', async () => {
    const outbox = open(2500);
    await outbox.append(logs('a', 0, chunk('a1')));
    await outbox.append(logs('a', 0, chunk('a2')));
    // The relay sends a1; while it is out, the bound drops it and then a2 into one marker.
    const sent = outbox.oldest()!;
    await outbox.append(logs('a', 0, chunk('a3')));
    await outbox.append(logs('a', 0, chunk('a4')));
    expect(shapes(outbox)).toEqual(['gap a/0 2000', 'logs a/0 a3', 'logs a/0 a4']);
    // a1 arrived after all: the marker now stands for a2 only.
    outbox.remove(sent.seq, sent);
    expect(shapes(outbox)).toEqual(['gap a/0 1000', 'logs a/0 a3', 'logs a/0 a4']);
    expect(shapes(open(2500))).toEqual(shapes(outbox));
    // A marker sent whole and not recounted meanwhile just goes.
    const marker = outbox.oldest()!;
    outbox.remove(marker.seq, marker);
    expect(shapes(outbox)).toEqual(['logs a/0 a3', 'logs a/0 a4']);
    expect(outbox.bytes).toBe(onDisk().bytes);
  });

  it('rejects an append it cannot write, holding nothing', async () => {
    const outbox = open();
    await outbox.append(acked('a'));
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    await expect(outbox.append(acked('b'))).rejects.toThrow();
    expect(shapes(outbox)).toEqual(['job_acked a']);
  });
});

describe('which jobs the outbox holds reports about', () => {
  it('counts a job held until its last report is removed, gap markers and reopening included', async () => {
    const outbox = open(2500);
    await outbox.append(logs('j1', 0, chunk('a')));
    await outbox.append(logs('j1', 0, chunk('b')));
    await outbox.append(finished('j2'));
    // Over the bound: j1's oldest chunk becomes its gap marker, still a report about j1.
    await outbox.append(logs('j1', 0, chunk('c')));
    expect(outbox.holdsJob('j1')).toBe(true);
    expect(outbox.holdsJob('j2')).toBe(true);
    expect(outbox.holdsJob('j3')).toBe(false);
    expect(open(2500).holdsJob('j2')).toBe(true);
    for (const entry of outbox.list().filter((e) => e.report.message.jobId === 'j1')) outbox.remove(entry.seq, entry);
    expect(outbox.holdsJob('j1')).toBe(false);
    expect(outbox.holdsJob('j2')).toBe(true);
  });
});
