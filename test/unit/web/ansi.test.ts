import { describe, expect, it } from 'vitest';
import { nearestOf256, parseAnsi, plainState } from '../../../web/src/ansi.js';

const E = '\x1b';

describe('a log line with ANSI escapes, as the log view shows it', () => {
  it('is one plain segment without escapes', () => {
    expect(parseAnsi('npm ci')).toEqual([{ text: 'npm ci', classes: [] }]);
    expect(parseAnsi('')).toEqual([]);
  });

  it('turns the 8 and the bright 8 foreground and background colours into classes', () => {
    expect(parseAnsi(`${E}[31mred${E}[39m plain ${E}[92;104mbright${E}[0m`)).toEqual([
      { text: 'red', classes: ['ansi-fg-1'] },
      { text: ' plain ', classes: [] },
      { text: 'bright', classes: ['ansi-fg-10', 'ansi-bg-12'] },
    ]);
    expect(parseAnsi(`${E}[47mbg${E}[49mno`)).toEqual([
      { text: 'bg', classes: ['ansi-bg-7'] },
      { text: 'no', classes: [] },
    ]);
  });

  it('keeps bold, dim, italic and underline until their own reset or a full reset', () => {
    expect(parseAnsi(`${E}[1;3;4mall${E}[22mno-bold${E}[23;24mplain${E}[2mdim${E}[mreset`)).toEqual([
      { text: 'all', classes: ['ansi-bold', 'ansi-italic', 'ansi-underline'] },
      { text: 'no-bold', classes: ['ansi-italic', 'ansi-underline'] },
      { text: 'plain', classes: [] },
      { text: 'dim', classes: ['ansi-dim'] },
      { text: 'reset', classes: [] },
    ]);
  });

  it('maps 256 colours (and true colour) to the nearest of the 16, and drops what is out of range', () => {
    expect(parseAnsi(`${E}[38;5;196mred${E}[48;5;21mblue-bg`)).toEqual([
      { text: 'red', classes: ['ansi-fg-9'] },
      { text: 'blue-bg', classes: ['ansi-fg-9', 'ansi-bg-4'] },
    ]);
    expect(nearestOf256(3)).toBe(3);
    expect(nearestOf256(232)).toBe(0); // darkest grey
    expect(nearestOf256(255)).toBe(7); // lightest grey of the ramp
    expect(nearestOf256(231)).toBe(15); // white of the cube
    expect(nearestOf256(46)).toBe(10); // pure green of the cube
    expect(nearestOf256(256)).toBeNull();
    expect(parseAnsi(`${E}[38;5;999mx`)).toEqual([{ text: 'x', classes: [] }]);
    expect(parseAnsi(`${E}[38;2;250;0;0mx`)).toEqual([{ text: 'x', classes: ['ansi-fg-9'] }]);
    // The codes after an extended colour are still read.
    expect(parseAnsi(`${E}[38;5;2;1mx`)).toEqual([{ text: 'x', classes: ['ansi-fg-2', 'ansi-bold'] }]);
  });

  it('strips cursor moves, clears, titles, hyperlinks, charset switches and other control characters', () => {
    const line = `${E}[2K${E}[1G${E}[?25lProgress${E}]0;title\x07 ${E}]8;;https://x.test${E}\\link${E}]8;;${E}\\${E}(B${E}7 done\x08\x07\r`;
    expect(parseAnsi(line)).toEqual([{ text: 'Progress link done', classes: [] }]);
  });

  it('shows what a progress bar drew last after carriage returns, and ignores a CRLF ending', () => {
    expect(parseAnsi(`${E}[32m 10%\r 50%\r100%${E}[0m\r`)).toEqual([{ text: '100%', classes: ['ansi-fg-2'] }]);
    expect(parseAnsi('done\r\n')).toEqual([{ text: 'done', classes: [] }]);
    expect(parseAnsi(`done\r${E}[0m`)).toEqual([{ text: 'done', classes: [] }]);
  });

  it('drops a sequence cut off at the end of the line, and keeps tabs', () => {
    expect(parseAnsi(`a\tb${E}[3`)).toEqual([{ text: 'a\tb', classes: [] }]);
    expect(parseAnsi(`x${E}`)).toEqual([{ text: 'x', classes: [] }]);
    expect(parseAnsi(`x${E}]unterminated title`)).toEqual([{ text: 'x', classes: [] }]);
  });

  it('keeps markup as text: <script> is a text segment, never anything else', () => {
    expect(parseAnsi(`${E}[31m<script>alert(1)</script>${E}[0m<img src=x onerror=alert(1)>`)).toEqual([
      { text: '<script>alert(1)</script>', classes: ['ansi-fg-1'] },
      { text: '<img src=x onerror=alert(1)>', classes: [] },
    ]);
  });

  it('carries colours from one line to the next through a shared state', () => {
    const state = plainState();
    expect(parseAnsi(`${E}[33mwarn`, state)).toEqual([{ text: 'warn', classes: ['ansi-fg-3'] }]);
    expect(parseAnsi('still yellow', state)).toEqual([{ text: 'still yellow', classes: ['ansi-fg-3'] }]);
  });

  it('never throws, whatever bytes a step printed', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = ['\x1b', '[', ']', ';', ':', 'm', '3', '8', '5', '2', '?', '\x07', '\\', 'a', '<', '\x9b', '\r', 'é', '😀', 'P'];
    for (let n = 0; n < 2000; n++) {
      const line = Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const segments = parseAnsi(line);
      for (const s of segments) {
        expect(s.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
        for (const c of s.classes) expect(c).toMatch(/^ansi-(fg-\d+|bg-\d+|bold|dim|italic|underline)$/);
      }
    }
  });
});
