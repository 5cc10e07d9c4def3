/**
 * Invariant 7: no secret value appears in a log, an API response or an error message. The workload
 * knows the secrets it gave the cluster; every text the run left (nodes' and agents' logs, answers
 * of the admin API, error messages) is searched for each value in every form it takes when it leaks
 * (secret-forms.ts).
 *
 * The evidence names a secret by its name and the place by source and line, with the line itself
 * shown redacted: a report is pasted into CI output and tickets, so it must never become the leak.
 */
import { invariantReport, notExercised, type InvariantReport } from '../report.js';
import { JSON_ESCAPED_MIN_LENGTH, secretForms, type SecretEncoding, type SecretForm } from './secret-forms.js';

export interface SecretValue {
  name: string;
  value: string;
}

export interface ScannedText {
  /** Where the text came from: a file path, or the request it answered ("GET /api/v1/runs/…"). */
  source: string;
  text: string;
  /** Why `text` is not all of the source: read in part, or not at all (then `text` is empty). */
  shortfall?: string;
}

export interface SecretsInput {
  secrets: SecretValue[];
  texts: ScannedText[];
}

// Reading log files is I/O, kept beside the pure check; the harness imports both from here.
export { readSecretTexts, SECRET_TEXT_MAX_BYTES } from './secret-texts.js';

/**
 * Shorter values are not looked for, nor hidden in the evidence: three characters turn up in any log
 * (and in the words of the report itself) by chance.
 */
export const MIN_SECRET_LENGTH = 4;
/** The redacted line shown as evidence is cut here. */
const EXCERPT_MAX_CHARS = 200;
/** Lines shown per secret and source; a secret logged on every line would otherwise flood the report. */
const LINES_SHOWN_PER_SOURCE = 20;

/** A secret as looked for: its forms, and the label it is named by in the report. */
interface SoughtSecret {
  label: string;
  forms: SecretForm[];
}

/**
 * A function that redacts every form of `secrets` from a text (withholding it if that is not
 * enough): for whatever else a report quotes — errors with log tails, notes — outside the evidence.
 */
export function scrubberFor(secrets: readonly SecretValue[]): (text: string) => string {
  const redactor = new Redactor(seek([...secrets]).sought);
  return (text) => redactor.scrub(text);
}

export function checkSecretsHidden(input: SecretsInput): InvariantReport {
  const { sought, tooShort } = seek(input.secrets);
  const redactor = new Redactor(sought);
  // Notes quote sources too: they are redacted like the evidence.
  const notes = [...skippedNote(tooShort), ...input.texts.filter((t) => t.shortfall).map((t) => `${t.source}: ${t.shortfall}`)].map((n) => redactor.scrub(n));
  // An empty text (a missing log, an empty answer) could not have shown anything.
  const texts = input.texts.filter((t) => t.text.length > 0);
  if (sought.length === 0) return unexercised(`no secret value to look for (the workload gave the cluster none, or only values under ${MIN_SECRET_LENGTH} characters)`, notes);
  if (texts.length === 0) return unexercised('no text to search (no log file, API response or error message was collected, or all were empty)', notes);
  const evidence = texts.flatMap((text) => sought.flatMap((secret) => leaks(secret, text, redactor)));
  return invariantReport(7, evidence, [redactor.scrub(scannedNote(texts, sought.length)), ...notes]);
}

function unexercised(why: string, notes: string[]): InvariantReport {
  const report = notExercised(7, why);
  return { ...report, notes: [...report.notes, ...notes] };
}

/**
 * Each secret with its forms and the label the report names it by: its name, unless the name would
 * itself show a secret value (then its place in the list, `#3`). Values too short to look for are
 * set apart, by label.
 */
function seek(secrets: SecretValue[]): { sought: SoughtSecret[]; tooShort: string[] } {
  const formsOf = secrets.map((s) => secretForms(s.value));
  const everyForm = formsOf.flat().map((f) => f.text);
  const labelled = secrets.map((s, i) => {
    const shows = everyForm.some((form) => `[secret:${s.name}]`.includes(form));
    return { label: shows ? `#${i + 1}` : s.name, forms: formsOf[i]!, usable: s.value.length >= MIN_SECRET_LENGTH };
  });
  return {
    sought: labelled.filter((s) => s.usable).map(({ label, forms }) => ({ label, forms })),
    tooShort: labelled.filter((s) => !s.usable).map((s) => s.label),
  };
}

/** One evidence line per line of `text` showing `secret`, the first few of them. */
function leaks(secret: SoughtSecret, scanned: ScannedText, redactor: Redactor): string[] {
  const found = new Map<number, Set<SecretEncoding>>();
  const lines = new LineIndex(scanned.text);
  for (const form of secret.forms) {
    for (let at = scanned.text.indexOf(form.text); at !== -1; at = scanned.text.indexOf(form.text, at + 1)) {
      const line = lines.numberAt(at);
      found.set(line, (found.get(line) ?? new Set()).add(form.encoding));
    }
  }
  const source = redactor.redact(scanned.source);
  const shown = [...found.entries()].sort(([a], [b]) => a - b).slice(0, LINES_SHOWN_PER_SOURCE);
  const evidence = shown.map(([line, encodings]) => {
    const excerpt = cut(redactor.redact(lines.text(line)));
    return redactor.safe(`secret ${secret.label} (${[...encodings].join(', ')}) in ${source} line ${line}: ${excerpt}`);
  });
  const more = found.size - shown.length;
  if (more > 0) evidence.push(redactor.safe(`secret ${secret.label} in ${source}: … and ${more} more lines`));
  return evidence;
}

function cut(line: string): string {
  const trimmed = line.trim();
  return trimmed.length <= EXCERPT_MAX_CHARS ? trimmed : `${trimmed.slice(0, EXCERPT_MAX_CHARS - 1)}…`;
}

/** Replaces every form of every secret with `[secret:<label>]`, longest forms first. */
class Redactor {
  private readonly replacements: { form: string; marker: string }[];

  constructor(secrets: SoughtSecret[]) {
    this.replacements = secrets
      .flatMap((s) => s.forms.map((f) => ({ form: f.text, marker: `[secret:${s.label}]` })))
      // A longer form first, so a shorter one inside it (another secret's) leaves nothing behind.
      .sort((a, b) => b.form.length - a.form.length);
  }

  redact(text: string): string {
    return this.replacements.reduce((out, r) => out.split(r.form).join(r.marker), text);
  }

  /** `text` redacted, and withheld if that was not enough. */
  scrub(text: string): string {
    return this.safe(this.redact(text));
  }

  /**
   * `line` if no form of a secret is left in it. A redaction can still leave one (markers side by
   * side that happen to spell a value): the line is then withheld rather than risked.
   */
  safe(line: string): string {
    if (!this.replacements.some((r) => line.includes(r.form))) return line;
    const withheld = 'a secret value was found, but the evidence line could not be written without showing it';
    return this.replacements.some((r) => withheld.includes(r.form)) ? '(evidence withheld)' : withheld;
  }
}

/** Line numbers (1-based) of positions in a text; the newlines are indexed on the first question. */
class LineIndex {
  private starts: number[] | undefined;

  constructor(private readonly whole: string) {}

  numberAt(position: number): number {
    const starts = this.lineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  text(line: number): string {
    const starts = this.lineStarts();
    const end = line < starts.length ? starts[line]! - 1 : this.whole.length;
    return this.whole.slice(starts[line - 1], end).replace(/\r$/, '');
  }

  private lineStarts(): number[] {
    if (this.starts) return this.starts;
    const starts = [0];
    for (let at = this.whole.indexOf('\n'); at !== -1; at = this.whole.indexOf('\n', at + 1)) starts.push(at + 1);
    return (this.starts = starts);
  }
}

/** What was searched, so "held" is read as no more than that. */
function scannedNote(texts: ScannedText[], secrets: number): string {
  const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t.text), 0);
  const kinds = new Map<string, number>();
  for (const t of texts) kinds.set(kindOf(t.source), (kinds.get(kindOf(t.source)) ?? 0) + 1);
  const byKind = [...kinds].map(([kind, n]) => `${kind}: ${n}`).join(', ');
  return `searched ${count(texts.length, 'text')}, ${size(bytes)} (${byKind}) for ${count(secrets, 'secret value')}, as is, base64, URL-encoded and (values of ${JSON_ESCAPED_MIN_LENGTH} characters or more) JSON-escaped`;
}

function skippedNote(tooShort: string[]): string[] {
  if (tooShort.length === 0) return [];
  return [`not looked for (values under ${MIN_SECRET_LENGTH} characters turn up by chance): ${tooShort.map((label) => `secret ${label}`).join(', ')}`];
}

function kindOf(source: string): string {
  if (/^(GET|POST|PUT|PATCH|DELETE|HEAD) /.test(source)) return 'API responses';
  if (/[/\\]/.test(source) || /\.\w+$/.test(source)) return 'files';
  return 'other texts';
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
