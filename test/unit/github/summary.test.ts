import { describe, expect, it } from 'vitest';
import {
  byteLength,
  capText,
  CHECK_RUN_TEXT_MAX_BYTES,
  renderCheckRunSummary,
  stripAnsi,
  type SummaryInput,
} from '../../../src/github/index.js';

const lines = (n: number, width = 10, prefix = 'line') => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1} ${'x'.repeat(width)}`);

function input(logWidth: number, failing = 3): SummaryInput {
  return {
    heading: '### kici/build failed',
    steps: [
      { name: 'checkout', status: 'success' },
      ...Array.from({ length: failing }, (_, i) => ({ name: `test ${i}`, status: 'failure', logTail: lines(30, logWidth) })),
    ],
    footer: '[details](https://example.test/runs/1)',
  };
}

describe('check-run summaries', () => {
  it('keeps the last 20 log lines of a step when they fit', () => {
    const summary = renderCheckRunSummary(input(10, 1));
    expect(summary.contextLines).toBe(20);
    expect(summary.cut).toBe(false);
    expect(summary.text).toContain('line 30 ');
    expect(summary.text).toContain('line 11 ');
    expect(summary.text).not.toContain('line 10 ');
    expect(summary.text).toContain('**checkout** (success)');
    expect(summary.text).toContain('[details]');
  });

  it('cuts log context 20 → 10 → 5 → 0 lines to stay under the cap', () => {
    // Each line ~ width bytes; 3 failing steps.
    const at = (width: number, max: number) => renderCheckRunSummary(input(width), max);
    const max = 20_000;
    expect(at(200, max).contextLines).toBe(20); // 3 × 20 × ~210 ≈ 12.6 kB
    expect(at(500, max).contextLines).toBe(10); // 3 × 20 × ~510 ≈ 30 kB; 10 lines ≈ 15 kB
    expect(at(1000, max).contextLines).toBe(5); // 10 lines ≈ 30 kB; 5 ≈ 15 kB
    expect(at(5000, max).contextLines).toBe(0); // 5 lines ≈ 75 kB
    for (const width of [200, 500, 1000, 5000]) expect(at(width, max).bytes).toBeLessThanOrEqual(max);
    const none = at(5000, max);
    expect(none.text).toContain('**test 2** (failure)');
    expect(none.text).not.toContain('line 30');
    expect(none.cut).toBe(false);
  });

  it('uses GitHub\'s 65 535-byte cap by default, counting bytes, not characters', () => {
    expect(CHECK_RUN_TEXT_MAX_BYTES).toBe(65_535);
    const wide = { steps: [{ name: 'emoji', status: 'failure', logTail: Array.from({ length: 20 }, () => '🙂'.repeat(1000)) }] };
    // 20 × 1000 × 4 bytes = 80 kB, though only 40 000 UTF-16 code units.
    const summary = renderCheckRunSummary(wide);
    expect(summary.contextLines).toBe(10);
    expect(byteLength(summary.text)).toBeLessThanOrEqual(65_535);
  });

  it('cuts the text itself only when even no log context fits, at a character boundary', () => {
    const steps = Array.from({ length: 3000 }, (_, i) => ({ name: `step ${i} ${'é'.repeat(20)}`, status: 'success' }));
    const summary = renderCheckRunSummary({ steps });
    expect(summary.cut).toBe(true);
    expect(summary.bytes).toBeLessThanOrEqual(65_535);
    expect(summary.text).toContain("summary cut to fit GitHub's limit");
    expect(summary.text).not.toContain('\uFFFD');
  });

  it('strips ANSI escapes from log lines and fences them so backticks cannot close the block', () => {
    const summary = renderCheckRunSummary({
      steps: [{ name: 'lint', status: 'failure', logTail: ['\u001b[31merror\u001b[0m in ```code```', '\u001b]0;title\u0007plain'] }],
    });
    expect(summary.text).toContain('error in ```code```');
    expect(summary.text).toContain('````text');
    expect(summary.text).not.toContain('\u001b');
    expect(stripAnsi('\u001b[1;32mok\u001b[0m')).toBe('ok');
  });

  it('capText leaves short text alone and never exceeds the budget', () => {
    expect(capText('short', 100)).toBe('short');
    for (const max of [60, 61, 62, 63, 100]) {
      const cut = capText('ü'.repeat(200), max);
      expect(byteLength(cut)).toBeLessThanOrEqual(max);
      expect(cut).not.toContain('\uFFFD');
    }
  });
});
