import { describe, expect, it } from 'vitest';
import {
  JobControl,
  Outbox,
  RingBuffer,
  agentLabels,
  envName,
  needsEnv,
  parseOutputFile,
  reconnectDelay,
  shellArgv,
} from '../../../src/agent/index.js';
import { SendPacer } from '../../../src/agent/send-pacer.js';
import { ManualClock, SeededRandom, type Random } from '../../../src/clock/index.js';

const fixed = (value: number): Random => ({ next: () => value, int: (lo) => lo });

describe('reconnect delay', () => {
  it('follows min(1000·1.5^n·(1+U[0,0.5)), 60000)', () => {
    expect(reconnectDelay(0, fixed(0))).toBe(1000);
    expect(reconnectDelay(2, fixed(0))).toBe(2250);
    expect(reconnectDelay(1, fixed(0.999))).toBeLessThan(2250);
    expect(reconnectDelay(10, fixed(0))).toBe(57665);
    expect(reconnectDelay(11, fixed(0))).toBe(60000);
    expect(reconnectDelay(3, fixed(0.5), { baseMs: 10, maxMs: 100 })).toBe(42);
    const random = new SeededRandom(1);
    for (let n = 0; n < 12; n++) {
      const d = reconnectDelay(n, random);
      expect(d).toBeGreaterThanOrEqual(Math.min(1000 * 1.5 ** n, 60000) - 1);
      expect(d).toBeLessThanOrEqual(60000);
    }
  });
});

describe('ring buffer', () => {
  it('drops the oldest when full and counts the drops', () => {
    const ring = new RingBuffer<number>(3);
    expect([1, 2, 3].map((n) => ring.push(n))).toEqual([true, true, true]);
    expect(ring.push(4)).toBe(false);
    expect(ring.push(5)).toBe(false);
    expect(ring.dropped).toBe(2);
    expect(ring.drain()).toEqual([3, 4, 5]);
    expect(ring.size).toBe(0);
    expect(ring.dropped).toBe(0);
  });
});

describe('outbox', () => {
  const status = (messageId: string, state: 'running' | 'success') => ({
    type: 'job.status' as const,
    messageId,
    timestamp: 1,
    runId: 'r',
    jobId: 'j',
    state,
  });

  it('keeps terminal statuses until acked and forgets the others once sent', () => {
    const outbox = new Outbox();
    outbox.add(status('a', 'running'));
    outbox.add(status('b', 'success'));
    expect(outbox.unackedJobs()).toEqual([{ jobId: 'j', runId: 'r' }]);
    expect(outbox.takeForSend(100).map((m) => m.messageId)).toEqual(['a', 'b']);
    expect(outbox.dueForResend(120, 30)).toEqual([]);
    expect(outbox.dueForResend(130, 30).map((m) => m.messageId)).toEqual(['b']);
    expect(outbox.dueForResend(140, 30)).toEqual([]);
    expect(outbox.takeForSend(150).map((m) => m.messageId)).toEqual(['b']);
    expect(outbox.ack('a')).toBe(false);
    expect(outbox.ack('b')).toBe(true);
    expect(outbox.size).toBe(0);
    expect(outbox.unackedJobs()).toEqual([]);
  });
});

describe('send pacer', () => {
  it('allows a burst, then the sustained rate, and holds off after a warning', () => {
    const clock = new ManualClock(0);
    const pacer = new SendPacer(clock, { ratePerSecond: 10, burst: 3 });
    expect([1, 2, 3, 4].map(() => pacer.tryTake())).toEqual([true, true, true, false]);
    expect(pacer.waitMs()).toBe(100);
    clock.advance(100);
    expect(pacer.tryTake()).toBe(true);
    expect(pacer.tryTake()).toBe(false);
    clock.advance(1000);
    pacer.backOff(500);
    expect(pacer.tryTake()).toBe(false);
    expect(pacer.waitMs()).toBe(500);
    clock.advance(500);
    expect(pacer.tryTake()).toBe(false);
    clock.advance(100);
    expect(pacer.tryTake()).toBe(true);
  });
});

describe('job control', () => {
  it('escalates a graceful stop to a forced one but keeps the first reason', () => {
    const control = new JobControl(1000);
    const seen: string[] = [];
    control.onStop((s) => seen.push(`${s.reason}:${s.force}`));
    control.stop({ kind: 'cancel', reason: 'user', force: false });
    control.stop({ kind: 'cancel', reason: 'again', force: false });
    control.stop({ kind: 'timeout', reason: 'job_timeout', force: true });
    expect(seen).toEqual(['user:false', 'user:true']);
  });
});

describe('shell argv', () => {
  const file = () => '/tmp/script';
  it('defaults to bash -eo pipefail -c', () => {
    expect(shellArgv(undefined, 'echo hi', file)).toEqual(['bash', '-eo', 'pipefail', '-c', 'echo hi']);
  });
  it('passes a file, a {0} placeholder or -c text to a custom shell', () => {
    expect(shellArgv('python3 -u', 'print(1)', file)).toEqual(['python3', '-u', '/tmp/script']);
    expect(shellArgv('pwsh -File {0}', 'x', file)).toEqual(['pwsh', '-File', '/tmp/script']);
    expect(shellArgv('sh -e -c', 'echo hi', file)).toEqual(['sh', '-e', '-c', 'echo hi']);
  });
});

describe('labels and step environment helpers', () => {
  it('adds os and arch labels once', () => {
    expect(agentLabels(['gpu', 'os:linux', ' '], 'linux', 'x64')).toEqual(['gpu', 'os:linux', 'arch:x64']);
  });

  it('names variables and merges matrix upstream outputs, last child in name order winning', () => {
    expect(envName('node-version.x')).toBe('NODE_VERSION_X');
    expect(
      needsEnv({
        test: {
          status: 'success',
          outputs: {},
          children: { 'test (b)': { status: 'success', outputs: { v: 'b', only: 'b' } }, 'test (a)': { status: 'success', outputs: { v: 'a' } } },
        },
      }),
    ).toEqual({ KICI_NEEDS_TEST_V: 'b', KICI_NEEDS_TEST_ONLY: 'b' });
  });

  it('parses KICI_OUTPUT files with CRLF, blank and bad lines', () => {
    expect(parseOutputFile('a=1\r\n\n=x\nnoeq\nb= spaced \na=2\n')).toEqual({ a: '2', b: ' spaced ' });
  });
});
