/**
 * The journal's reading side: lines the workload's steps appended (journal.ts), checked with zod.
 *
 * A process killed in the middle of its append can leave the last line torn (no newline); that is
 * expected of a chaos test and only noted. A bad line anywhere else is not: every line is one
 * write, so it means the journal itself cannot be trusted, and the checker says so.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { JOURNAL_FORMAT } from './journal.js';

/** One line of the journal: an execution of a step started or ended. */
export interface JournalEntry {
  event: 'start' | 'end';
  /** The same on the start and end lines of one execution. */
  execution: string;
  runId: string;
  jobId: string;
  jobName: string;
  /** The run's attempt (KICI_ATTEMPT: one more per rerun); a job dispatched again within it keeps it. */
  attempt: number;
  /** The name the reader was given for the agent's work dir, else its `agent-id` file, else the dir. */
  agent: string;
  agentDir: string;
  stepIndex: number;
  /** The step's own retry (`retry.maxAttempts`): another execution of the step, not a duplicate. */
  stepTry: number;
  /** Microseconds since the epoch, on the host's clock. */
  atMicros: number;
  /** The work's exit code; end lines only. */
  exitCode?: number;
}

export interface JournalProblem {
  /** 1-based line number. */
  line: number;
  text: string;
  reason: string;
  /** The last line, without its newline: a writer killed mid-append. Not a fault of the journal. */
  torn: boolean;
}

export interface Journal {
  entries: JournalEntry[];
  problems: JournalProblem[];
  /** False when the file did not exist (no step wrote a line). */
  found: boolean;
}

export interface JournalReadOptions {
  /** Agent names by work dir, for agents started with --agent-id (they keep no `agent-id` file). */
  agentNames?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

const STEP_FILE = /^step-(\d+)-attempt-(\d+)\.out$/;

const journalLine = z.strictObject({
  v: z.literal(JOURNAL_FORMAT),
  event: z.enum(['start', 'end']),
  execution: z.string().min(1),
  run: z.string().min(1),
  job: z.string().min(1),
  jobName: z.string(),
  attempt: z.number().int().min(1),
  agent: z.string(),
  agentDir: z.string().min(1),
  stepFile: z.string().regex(STEP_FILE, 'is not step-<index>-attempt-<n>.out (KICI_OUTPUT had an unexpected shape)'),
  at: z.number().int().positive(),
  exit: z.number().int().optional(),
});
type JournalLine = z.infer<typeof journalLine>;

export async function readJournal(path: string, options: JournalReadOptions = {}): Promise<Journal> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [], found: false };
    throw error;
  }
  return parseJournal(text, options);
}

export function parseJournal(text: string, options: JournalReadOptions = {}): Journal {
  const names = options.agentNames instanceof Map ? options.agentNames : new Map(Object.entries(options.agentNames ?? {}));
  const lines = text.split('\n');
  // A file ending in a newline splits into a last empty string; anything else there is unterminated.
  const unterminated = lines.pop() ?? '';
  const entries: JournalEntry[] = [];
  const problems: JournalProblem[] = [];
  const take = (raw: string, index: number, torn: boolean): void => {
    if (raw.trim() === '' && !torn) return;
    const parsed = parseLine(raw);
    if (parsed.ok) entries.push(toEntry(parsed.line, names));
    else problems.push({ line: index + 1, text: raw, reason: parsed.reason, torn });
  };
  lines.forEach((raw, index) => take(raw, index, false));
  if (unterminated !== '') take(unterminated, lines.length, true);
  return { entries, problems, found: true };
}

function parseLine(raw: string): { ok: true; line: JournalLine } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const result = journalLine.safeParse(json);
  if (result.success) return { ok: true, line: result.data };
  return { ok: false, reason: result.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ') };
}

function toEntry(line: JournalLine, names: ReadonlyMap<string, string>): JournalEntry {
  const [, stepIndex, stepTry] = STEP_FILE.exec(line.stepFile) ?? [];
  return {
    event: line.event,
    execution: line.execution,
    runId: line.run,
    jobId: line.job,
    jobName: line.jobName,
    attempt: line.attempt,
    agent: names.get(line.agentDir) || line.agent || line.agentDir,
    agentDir: line.agentDir,
    stepIndex: Number(stepIndex),
    stepTry: Number(stepTry),
    atMicros: line.at,
    ...(line.exit !== undefined && { exitCode: line.exit }),
  };
}
