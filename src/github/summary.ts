/**
 * Check-run summaries under GitHub's cap. GitHub documents 65 535 characters for `output.summary`
 * and `output.text`; the cap here is 65 535 UTF-8 bytes, which is never more characters. A summary
 * that would not fit keeps less log context per step, 20 → 10 → 5 → 0 lines (reference
 * protocol.md §5.4), and only if even that is too big is it cut at a character boundary with a
 * marker. Pure: no I/O, no clock.
 */

export const CHECK_RUN_TEXT_MAX_BYTES = 65_535;
export const LOG_CONTEXT_STEPS = [20, 10, 5, 0] as const;
export type LogContextLines = (typeof LOG_CONTEXT_STEPS)[number];

export interface SummaryStep {
  name: string;
  /** What the step came to: success, failure, skipped, cancelled, running, … */
  status: string;
  /** The step's last log lines (any number; the last 20 are kept, ANSI-stripped). */
  logTail?: readonly string[];
}

export interface SummaryInput {
  /** Markdown before the steps (a line on the outcome, links). */
  heading?: string;
  steps: readonly SummaryStep[];
  /** Markdown after the steps. */
  footer?: string;
}

export interface RenderedSummary {
  text: string;
  /** The log lines kept per step. */
  contextLines: LogContextLines;
  /** True when even 0 lines of context did not fit and the text was cut. */
  cut: boolean;
  bytes: number;
}

// CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), and lone escapes.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

export function stripAnsi(line: string): string {
  return line.replace(ANSI, '');
}

const ICONS: Record<string, string> = {
  success: '✅',
  failure: '❌',
  cancelled: '⏹️',
  skipped: '⏭️',
  timed_out: '⏱️',
  running: '⏳',
  in_progress: '⏳',
  queued: '🕒',
};

function fenceFor(lines: readonly string[]): string {
  // A fence longer than any run of backticks inside, so log lines cannot close it.
  let longest = 0;
  for (const line of lines) for (const run of line.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function render(input: SummaryInput, context: number): string {
  const parts: string[] = [];
  if (input.heading) parts.push(input.heading.trimEnd(), '');
  for (const step of input.steps) {
    parts.push(`- ${ICONS[step.status] ?? '•'} **${step.name}** (${step.status})`);
    const tail = (step.logTail ?? []).slice(-20).map(stripAnsi);
    if (context > 0 && tail.length > 0) {
      const lines = tail.slice(-context);
      const fence = fenceFor(lines);
      parts.push('', `  ${fence}text`, ...lines.map((l) => `  ${l}`), `  ${fence}`, '');
    }
  }
  if (input.footer) parts.push('', input.footer.trimEnd());
  return parts.join('\n') + '\n';
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

const CUT_MARKER = '\n\n…(summary cut to fit GitHub\'s limit)\n';

/** `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, with a marker when cut. */
export function capText(text: string, maxBytes = CHECK_RUN_TEXT_MAX_BYTES): string {
  if (byteLength(text) <= maxBytes) return text;
  const budget = Math.max(0, maxBytes - byteLength(CUT_MARKER));
  const bytes = Buffer.from(text, 'utf8');
  let end = Math.min(budget, bytes.length);
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  const cut = bytes.subarray(0, end).toString('utf8') + CUT_MARKER;
  return byteLength(cut) <= maxBytes ? cut : cut.slice(0, maxBytes);
}

/** The summary with as much log context as fits under `maxBytes` (20, then 10, 5, 0 lines). */
export function renderCheckRunSummary(input: SummaryInput, maxBytes = CHECK_RUN_TEXT_MAX_BYTES): RenderedSummary {
  for (const context of LOG_CONTEXT_STEPS) {
    const text = render(input, context);
    const bytes = byteLength(text);
    if (bytes <= maxBytes) return { text, contextLines: context, cut: false, bytes };
  }
  const text = capText(render(input, 0), maxBytes);
  return { text, contextLines: 0, cut: true, bytes: byteLength(text) };
}
