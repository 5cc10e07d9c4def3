import { MASK, MIN_SECRET_CHARS, maskPatterns } from './forms.js';

/** Regular-expression syntax characters, escaped so a secret always matches as plain text. */
const SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

function escape(text: string): string {
  return text.replace(SYNTAX, '\\$&');
}

/**
 * Replaces every secret value of MIN_SECRET_CHARS or more, and each of its forms (URL-encoded,
 * base64 at every alignment; see `maskPatterns`), with `***`. One alternation, longest pattern
 * first, so a value that contains another is masked whole. Built once per job; `mask` is safe to
 * call from anywhere (it resets the global regex before each use).
 */
export class SecretMasker {
  /** What is masked, longest first. Never log these. */
  readonly patterns: readonly string[];
  /** Length of the longest pattern (0 when there is nothing to mask). */
  readonly longest: number;
  private readonly regex: RegExp | undefined;
  /** Patterns by their first code unit, for the streaming form's look at the tail of its buffer. */
  private readonly byFirst = new Map<string, string[]>();

  constructor(values: Iterable<string> = []) {
    this.patterns = maskPatterns(values);
    this.longest = this.patterns[0]?.length ?? 0;
    this.regex = this.patterns.length > 0 ? new RegExp(this.patterns.map(escape).join('|'), 'g') : undefined;
    for (const p of this.patterns) {
      const list = this.byFirst.get(p[0]);
      if (list) list.push(p);
      else this.byFirst.set(p[0], [p]);
    }
  }

  /** A masker for a `name → value` map (a dispatch's `secrets`), or for plain values. */
  static of(secrets: Record<string, string> | Iterable<string> | undefined | null): SecretMasker {
    if (!secrets) return new SecretMasker();
    const values = Symbol.iterator in Object(secrets) ? (secrets as Iterable<string>) : Object.values(secrets);
    return new SecretMasker(values);
  }

  /** False when there is nothing to mask (no secrets, or all too short): masking is the identity. */
  get active(): boolean {
    return this.regex !== undefined;
  }

  mask(text: string): string {
    if (!this.regex || text.length < MIN_SECRET_CHARS) return text;
    this.regex.lastIndex = 0;
    return text.replace(this.regex, MASK);
  }

  /**
   * Lines that travel together (one log chunk): masked as one text, so a value with a newline in
   * it is masked too. The result may have fewer lines than the input.
   */
  maskLines(lines: readonly string[]): string[] {
    if (!this.regex) return [...lines];
    const joined = lines.join('\n');
    const masked = this.mask(joined);
    return masked === joined ? [...lines] : masked.split('\n');
  }

  /** The streaming form, for output that arrives in pieces (a step's writes). */
  stream(): StreamingMasker {
    return new StreamingMasker(this);
  }

  /**
   * Where the undecided tail of `text` starts: the first position from which the rest of the text
   * is a proper prefix of some pattern (more text may complete it), or `text.length` if none. Only
   * the last `longest - 1` positions can start one.
   */
  undecidedFrom(text: string): number {
    const end = text.length;
    for (let i = Math.max(0, end - this.longest + 1); i < end; i++) {
      const candidates = this.byFirst.get(text[i]);
      if (!candidates) continue;
      const rest = text.slice(i);
      for (const p of candidates) {
        if (p.length > rest.length && p.startsWith(rest)) return i;
      }
    }
    return end;
  }

  /**
   * Mask the part of `text` that is decided, given that the tail from `undecided` may still grow:
   * every match starting before `undecided` is final (a longer pattern could only win there if the
   * rest of the text were a prefix of it, and then that position would be undecided too). Returns
   * the masked text and where it ended in `text`: at `undecided`, or after a match that runs past it.
   */
  maskDecided(text: string, undecided: number): { masked: string; end: number } {
    if (!this.regex) return { masked: text.slice(0, undecided), end: undecided };
    const regex = this.regex;
    regex.lastIndex = 0;
    let masked = '';
    let last = 0;
    for (let m = regex.exec(text); m !== null && m.index < undecided; m = regex.exec(text)) {
      masked += text.slice(last, m.index) + MASK;
      last = m.index + m[0].length;
    }
    regex.lastIndex = 0;
    const end = Math.max(undecided, last);
    masked += text.slice(last, end);
    return { masked, end };
  }
}

/**
 * Masks output that arrives in pieces, so a value split across two writes (`printf 'sup';
 * printf 'ersecret'`) is still masked. Each `write` returns what is decided; it holds back only
 * the tail that could still become a secret (at most `longest - 1` characters, and only when
 * that tail is the start of some pattern), until more output or `end` decides it. What comes out
 * over a stream's life is exactly `mask` of the whole stream, however it was split.
 */
export class StreamingMasker {
  private held = '';

  constructor(private readonly masker: SecretMasker) {}

  /** Characters held back, undecided. */
  get pending(): number {
    return this.held.length;
  }

  write(text: string): string {
    if (!this.masker.active) return text;
    const buffer = this.held + text;
    const { masked, end } = this.masker.maskDecided(buffer, this.masker.undecidedFrom(buffer));
    this.held = buffer.slice(end);
    return masked;
  }

  /** The stream ended: whatever was held back, masked. */
  end(): string {
    const rest = this.masker.mask(this.held);
    this.held = '';
    return rest;
  }
}
