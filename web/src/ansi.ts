/**
 * A log line with ANSI escapes → text segments with the classes of their SGR attributes
 * (`ansi-fg-N`, `ansi-bg-N`, `ansi-bold`, …). Only colours and four attributes survive; every
 * other escape (cursor moves, clears, titles, hyperlinks) is dropped, so a step's output can never
 * move or restyle the page. The text stays text: the page puts it in with textContent. Pure and
 * total: whatever bytes a step printed, it returns segments and never throws.
 */

export interface Segment {
  text: string;
  classes: string[];
}

/** What the SGR codes seen so far leave on: carried from one line to the next by `AnsiState`. */
export interface AnsiState {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

export const plainState = (): AnsiState => ({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false });

const ESC = '\x1b';
const CSI_8BIT = '\x9b';

/** One line into segments; pass a state to carry colours across lines (it is updated in place). */
export function parseAnsi(line: string, state: AnsiState = plainState()): Segment[] {
  try {
    return parse(String(line), state);
  } catch {
    // Unreachable by design; the guard keeps a log view alive whatever happens.
    return [{ text: String(line).replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, ''), classes: [] }];
  }
}

function parse(line: string, state: AnsiState): Segment[] {
  const out: Segment[] = [];
  let text = '';
  const flush = () => {
    if (text === '') return;
    const classes = classesOf(state);
    const last = out[out.length - 1];
    if (last && sameClasses(last.classes, classes)) last.text += text;
    else out.push({ text, classes });
    text = '';
  };

  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ESC || c === CSI_8BIT) {
      const csiStart = c === CSI_8BIT ? i + 1 : line[i + 1] === '[' ? i + 2 : -1;
      if (csiStart >= 0) {
        const end = csiEnd(line, csiStart);
        if (end < 0) break; // cut off mid-sequence: drop the rest of it
        if (line[end] === 'm') {
          flush();
          applySgr(line.slice(csiStart, end), state);
        }
        i = end + 1;
        continue;
      }
      i = skipOtherEscape(line, i);
      continue;
    }
    if (c === '\r') {
      // A progress bar redraws its line after a carriage return: show what it drew last, as a
      // terminal would, unless nothing visible follows (a CRLF line ending).
      if (visibleAfter(line, i + 1)) {
        out.length = 0;
        text = '';
      }
      i++;
      continue;
    }
    const code = c.charCodeAt(0);
    // Other control characters (bell, backspace, carriage return, C1) would only confuse the view.
    if ((code < 0x20 && c !== '\t') || (code >= 0x7f && code <= 0x9f)) {
      i++;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

const CSI_SEQUENCE = /\x1b\[[0-?]*[ -\/]*[@-~]/g;

function visibleAfter(line: string, from: number): boolean {
  return /[^\r\n\x1b]/.test(line.slice(from).replace(CSI_SEQUENCE, ''));
}

/** Index of a CSI sequence's final byte (0x40–0x7e), or -1 when the line ends first. */
function csiEnd(line: string, from: number): number {
  for (let j = from; j < line.length; j++) {
    const code = line.charCodeAt(j);
    if (code >= 0x40 && code <= 0x7e) return j;
    if (code < 0x20 || code > 0x3f) {
      // Not a parameter or intermediate byte: a malformed sequence ends before it (the caller
      // resumes at j and keeps that character), dropping what came so far.
      return j - 1;
    }
  }
  return -1;
}

/** Past an escape that is not CSI: OSC/DCS/PM/APC strings up to BEL or ST, or ESC + one final byte. */
function skipOtherEscape(line: string, at: number): number {
  const kind = line[at + 1];
  if (kind === undefined) return at + 1;
  if (kind === ']' || kind === 'P' || kind === '^' || kind === '_' || kind === 'X') {
    for (let j = at + 2; j < line.length; j++) {
      if (line[j] === '\x07') return j + 1;
      if (line[j] === ESC && line[j + 1] === '\\') return j + 2;
    }
    return line.length;
  }
  // ESC, intermediates (0x20–0x2f), final byte: `ESC ( B`, `ESC =`, `ESC 7`.
  let j = at + 1;
  while (j < line.length && line.charCodeAt(j) >= 0x20 && line.charCodeAt(j) <= 0x2f) j++;
  return Math.min(j + 1, line.length);
}

function applySgr(params: string, state: AnsiState): void {
  if (/[^0-9;:]/.test(params)) return; // private modes (`?`, `>`) are not SGR
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number.parseInt(p, 10)));
  for (let k = 0; k < codes.length; k++) {
    const n = codes[k];
    if (n === 0) Object.assign(state, plainState());
    else if (n === 1) state.bold = true;
    else if (n === 2) state.dim = true;
    else if (n === 3) state.italic = true;
    else if (n === 4) state.underline = true;
    else if (n === 22) state.bold = state.dim = false;
    else if (n === 23) state.italic = false;
    else if (n === 24) state.underline = false;
    else if (n >= 30 && n <= 37) state.fg = n - 30;
    else if (n === 39) state.fg = null;
    else if (n >= 40 && n <= 47) state.bg = n - 40;
    else if (n === 49) state.bg = null;
    else if (n >= 90 && n <= 97) state.fg = n - 90 + 8;
    else if (n >= 100 && n <= 107) state.bg = n - 100 + 8;
    else if (n === 38 || n === 48) {
      const { colour, used } = extendedColour(codes, k + 1);
      k += used;
      if (n === 38) state.fg = colour ?? state.fg;
      else state.bg = colour ?? state.bg;
    }
    // Anything else (blink, inverse, fonts…) is left out on purpose.
  }
}

/** `5;n` (256 colours) or `2;r;g;b` (true colour) after 38/48, to the nearest of the 16. */
function extendedColour(codes: number[], at: number): { colour: number | null; used: number } {
  const mode = codes[at];
  if (mode === 5) return { colour: nearestOf256(codes[at + 1]), used: 2 };
  if (mode === 2) {
    const [r, g, b] = [codes[at + 1], codes[at + 2], codes[at + 3]];
    const valid = [r, g, b].every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
    return { colour: valid ? nearestOf16([r, g, b]) : null, used: 4 };
  }
  return { colour: null, used: 0 };
}

/** The xterm defaults of the 16 colours the style sheet has classes for. */
const PALETTE_16: readonly (readonly [number, number, number])[] = [
  [0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255],
];
const CUBE_LEVELS = [0, 95, 135, 175, 215, 255];

export function nearestOf256(n: number | undefined): number | null {
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 255) return null;
  if (n < 16) return n;
  if (n < 232) {
    const i = n - 16;
    return nearestOf16([CUBE_LEVELS[Math.floor(i / 36)], CUBE_LEVELS[Math.floor(i / 6) % 6], CUBE_LEVELS[i % 6]]);
  }
  const grey = 8 + (n - 232) * 10;
  return nearestOf16([grey, grey, grey]);
}

function nearestOf16(rgb: readonly [number, number, number]): number {
  let best = 0;
  let bestDistance = Infinity;
  PALETTE_16.forEach((p, i) => {
    const d = (p[0] - rgb[0]) ** 2 + (p[1] - rgb[1]) ** 2 + (p[2] - rgb[2]) ** 2;
    if (d < bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

function classesOf(s: AnsiState): string[] {
  const classes: string[] = [];
  if (s.fg !== null) classes.push(`ansi-fg-${s.fg}`);
  if (s.bg !== null) classes.push(`ansi-bg-${s.bg}`);
  if (s.bold) classes.push('ansi-bold');
  if (s.dim) classes.push('ansi-dim');
  if (s.italic) classes.push('ansi-italic');
  if (s.underline) classes.push('ansi-underline');
  return classes;
}

const sameClasses = (a: string[], b: string[]) => a.length === b.length && a.every((c, i) => c === b[i]);
