import { describe, expect, it } from 'vitest';
import { absoluteTime, elapsedMs, formatBytes, formatDuration, isTerminalRun, relativeTime, shortRef, shortSha, statusClass, triggerOf } from '../../../web/src/format.js';

const now = Date.parse('2026-12-07T12:00:00Z');

describe('how the pages write times and statuses', () => {
  it('writes durations with their two largest units', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(187_000)).toBe('3m 07s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(26 * 3_600_000)).toBe('1d 2h');
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(-5)).toBe('–');
  });

  it('measures a running job up to now and a finished one to its end', () => {
    expect(elapsedMs('2026-12-07T11:59:00Z', null, now)).toBe(60_000);
    expect(elapsedMs('2026-12-07T11:00:00Z', '2026-12-07T11:00:30Z', now)).toBe(30_000);
    expect(elapsedMs(null, null, now)).toBeNull();
    expect(elapsedMs('not a time', null, now)).toBeNull();
  });

  it('writes times relative to now, a future time as just now', () => {
    expect(relativeTime('2026-12-07T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-12-07T12:00:30Z', now)).toBe('just now');
    expect(relativeTime('2026-12-07T11:59:30Z', now)).toBe('30s ago');
    expect(relativeTime('2026-12-07T11:55:00Z', now)).toBe('5m ago');
    expect(relativeTime('2026-12-07T09:00:00Z', now)).toBe('3h ago');
    expect(relativeTime('2026-12-04T12:00:00Z', now)).toBe('3d ago');
    expect(relativeTime(null, now)).toBe('–');
    expect(absoluteTime('2026-12-07T10:44:03.123Z')).toBe('2026-12-07 10:44:03 UTC');
  });

  it('shortens refs and shas, and sizes', () => {
    expect(shortRef('refs/heads/main')).toBe('main');
    expect(shortRef('refs/tags/v1.2')).toBe('v1.2');
    expect(shortRef('refs/pull/4/head')).toBe('refs/pull/4/head');
    expect(shortSha('0123456789abcdef')).toBe('0123456789');
    expect(formatBytes(2048)).toBe('2.0 KiB');
  });

  it('knows the terminal run statuses, and makes any status a safe class name', () => {
    expect(['success', 'failed', 'cancelled'].every(isTerminalRun)).toBe(true);
    expect(['pending', 'running', 'cancelling', 'held'].some(isTerminalRun)).toBe(false);
    expect(statusClass('timed_out_stale')).toBe('status-timed-out-stale');
    expect(statusClass('x" onclick="y')).toBe('status-x-onclick-y');
  });

  it('says what started a run: the server\'s word first, then a rerun, a delivery or a manual trigger', () => {
    expect(triggerOf({ trigger: 'push', attempt: 2, deliveryId: 'd' })).toBe('push');
    expect(triggerOf({ attempt: 3, deliveryId: 'd' })).toBe('rerun #3');
    expect(triggerOf({ attempt: 1, deliveryId: 'd' })).toBe('delivery');
    expect(triggerOf({ attempt: 1, deliveryId: null })).toBe('manual');
  });
});
