/**
 * A job's step log as it streams: `.log-line` elements whose coloured parts are spans with the
 * ANSI classes, the text always a text node. Lines arrive one event at a time and are added once
 * per frame; the view follows the end while the reader is at the end, and stays put otherwise.
 */
import { type AnsiState, parseAnsi, plainState } from './ansi.js';
import { el } from './elements.js';
import type { LogLine } from './views.js';

/** Past this many lines the oldest go: the download link has the whole log. */
const MAX_LINES = 20_000;

export interface LogView {
  element: HTMLElement;
  clear(): void;
  add(line: LogLine): void;
  note(text: string): void;
}

export function logView(): LogView {
  const element = el('div', { id: 'log', class: 'log', role: 'log', 'aria-live': 'off', tabindex: 0 });
  let pending: LogLine[] = [];
  let frame = 0;
  let step: number | null = null;
  let ansi: AnsiState = plainState();
  let lines = 0;
  let trimmed = false;

  const atEnd = () => element.scrollHeight - element.scrollTop - element.clientHeight < 40;

  const flush = () => {
    frame = 0;
    const follow = atEnd();
    const batch = document.createDocumentFragment();
    for (const line of pending) {
      if (line.step !== step) {
        step = line.step;
        ansi = plainState(); // colours do not leak from one step's output into the next
        batch.append(el('div', { class: 'log-step', 'data-step': line.step }, line.stepName ?? `step ${line.step}`));
      }
      const row = el('div', { class: 'log-line', 'data-step': line.step });
      for (const segment of parseAnsi(line.text ?? '', ansi)) {
        row.append(segment.classes.length ? el('span', { class: segment.classes.join(' ') }, segment.text) : document.createTextNode(segment.text));
      }
      batch.append(row);
      lines++;
    }
    pending = [];
    element.append(batch);
    while (lines > MAX_LINES) {
      element.querySelector('.log-line')?.remove();
      lines--;
      if (!trimmed) {
        trimmed = true;
        element.prepend(el('div', { class: 'log-note' }, `Only the last ${MAX_LINES} lines are shown: download the log for all of it.`));
      }
    }
    if (follow) element.scrollTop = element.scrollHeight;
  };

  return {
    element,
    clear() {
      pending = [];
      step = null;
      ansi = plainState();
      lines = 0;
      trimmed = false;
      element.replaceChildren();
    },
    add(line) {
      pending.push(line);
      if (!frame) frame = requestAnimationFrame(flush);
    },
    note(text) {
      if (frame) {
        cancelAnimationFrame(frame);
        flush();
      }
      element.append(el('div', { class: 'log-note' }, text));
    },
  };
}
