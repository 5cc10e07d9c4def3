import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox, OutboxFiles } from '../../../src/agent/index.js';
import type { AgentLogger } from '../../../src/agent/index.js';

let dir: string;
let lines: { level: string; msg: string; fields: object }[];

const logger: AgentLogger = {
  debug: () => undefined,
  info: (fields, msg = '') => lines.push({ level: 'info', msg, fields }),
  warn: (fields, msg = '') => lines.push({ level: 'warn', msg, fields }),
  error: (fields, msg = '') => lines.push({ level: 'error', msg, fields }),
};

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'kici-outbox-')), 'outbox');
  lines = [];
});
afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

const jobStatus = (messageId: string, jobId: string, state: 'running' | 'success' | 'failed' = 'success') => ({
  type: 'job.status' as const,
  messageId,
  timestamp: 1,
  runId: 'run-1',
  jobId,
  state,
});
const stepStatus = (messageId: string, jobId: string, stepIndex: number) => ({
  type: 'step.status' as const,
  messageId,
  timestamp: 1,
  runId: 'run-1',
  jobId,
  stepIndex,
  stepName: `step ${stepIndex}`,
  state: 'success' as const,
  exitCode: 0,
});

/** A fresh process's view of the same directory. */
function reopen(maxBytes?: number): Outbox {
  const outbox = new Outbox({ files: new OutboxFiles(dir), maxBytes, logger });
  outbox.restore();
  return outbox;
}

const ids = (outbox: Outbox): string[] => outbox.takeForSend(0).map((m) => m.messageId);

describe('durable outbox', () => {
  it('keeps final statuses across a restart, in the order they happened, and lists their jobs as in flight', () => {
    const first = reopen();
    first.add(stepStatus('s0', 'job-a', 0));
    first.add(jobStatus('r', 'job-a', 'running'));
    first.add(jobStatus('a', 'job-a'));
    first.add(stepStatus('s1', 'job-b', 0));
    first.add(jobStatus('b', 'job-b', 'failed'));
    // Only terminal statuses are written down: a `running` from a dead process means nothing.
    expect(readdirSync(dir)).toHaveLength(4);

    const second = reopen();
    expect(second.size).toBe(4);
    expect(second.unackedJobs()).toEqual([
      { jobId: 'job-a', runId: 'run-1' },
      { jobId: 'job-b', runId: 'run-1' },
    ]);
    expect(ids(second)).toEqual(['s0', 'a', 's1', 'b']);
    // New entries of the second process come after the old ones, also after a third start.
    second.add(jobStatus('c', 'job-c'));
    expect(ids(reopen())).toEqual(['s0', 'a', 's1', 'b', 'c']);
  });

  it('forgets an acknowledged entry for good', () => {
    const first = reopen();
    first.add(stepStatus('s0', 'job-a', 0));
    first.add(jobStatus('a', 'job-a'));
    first.add(jobStatus('b', 'job-b'));
    expect(first.ack('a')).toBe(true);
    expect(first.ack('s0')).toBe(true);
    expect(first.ack('nobody')).toBe(false);

    const second = reopen();
    expect(ids(second)).toEqual(['b']);
    expect(second.ack('b')).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(reopen().size).toBe(0);
  });

  it('tolerates a torn write: a half-written temporary file is dropped, a damaged entry set aside', () => {
    const first = reopen();
    first.add(jobStatus('a', 'job-a'));
    first.add(jobStatus('b', 'job-b'));
    // A crash between write and rename leaves the temporary file, cut off mid-way.
    const whole = JSON.stringify(jobStatus('c', 'job-c'));
    writeFileSync(join(dir, '0000000000000003.json.tmp'), whole.slice(0, whole.length / 2));
    // A filesystem that lost part of a renamed file: it must not stop the agent or be sent.
    const [, second] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    writeFileSync(join(dir, second!), '{"type":"job.status","messageId":"b","timest');

    const back = reopen();
    expect(ids(back)).toEqual(['a']);
    expect(readdirSync(dir).sort()).toEqual(['0000000000000001.json', `${second}.corrupt`]);
    expect(lines.map((l) => `${l.level}: ${l.msg}`)).toEqual([
      'warn: outbox: removed entries a crash left half written',
      'error: outbox: entries that do not parse were renamed *.corrupt and will not be sent',
    ]);
    // A status of the wrong shape is refused the same way as one cut short.
    writeFileSync(join(dir, '0000000000000009.json'), JSON.stringify({ type: 'job.status', messageId: 'x' }));
    expect(ids(reopen())).toEqual(['a']);
    // Sequence numbers go on after the highest seen, so a new entry sorts last.
    const next = reopen();
    next.add(jobStatus('d', 'job-d'));
    expect(ids(reopen())).toEqual(['a', 'd']);
  });

  it('never drops a final status past its bound: it stops taking jobs instead, and says so once', () => {
    const size = Buffer.byteLength(JSON.stringify(jobStatus('a0', 'job-0')));
    const outbox = reopen(3 * size);
    for (let i = 0; i < 5; i++) outbox.add(jobStatus(`a${i}`, `job-${i}`));
    expect(outbox.full).toBe(true);
    expect(outbox.bytes).toBe(5 * size);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      expect.stringContaining('exceed KICI_AGENT_OUTBOX_MAX_BYTES; no new jobs are taken'),
    ]);
    // Everything is still there, on disk too.
    expect(reopen(3 * size).size).toBe(5);
    expect(outbox.takeForSend(0)).toHaveLength(5);
    for (const id of ['a0', 'a1', 'a2']) outbox.ack(id);
    expect(outbox.full).toBe(false);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'outbox: back under its bound; taking jobs again' });
    // A restarted agent over its bound is full from the start.
    const again = reopen(size);
    expect(again.full).toBe(true);
  });

  it('keeps a status in memory when the disk refuses it, and says it will not survive a restart', () => {
    const outbox = reopen();
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    outbox.add(jobStatus('a', 'job-a'));
    expect(ids(outbox)).toEqual(['a']);
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/could not write a final status to disk; it is kept in memory only/);
    expect(outbox.ack('a')).toBe(true);
    expect(readFileSync(dir, 'utf8')).toBe('not a directory');
  });

  it('writes entries readable by the agent only', () => {
    const outbox = reopen();
    outbox.add(jobStatus('a', 'job-a'));
    const [name] = readdirSync(dir);
    expect(existsSync(join(dir, name!))).toBe(true);
    expect(statSync(join(dir, name!)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});
