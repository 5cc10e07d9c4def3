/**
 * The texts a secret value can turn into in a log: the value itself, its URL-encoded form, and its
 * base64 form wherever it sits in a longer base64-encoded stream.
 */

/** What every masked text becomes. */
export const MASK = '***';

/**
 * Values shorter than this (in characters) are never masked, nor is any form shorter than this: a
 * one- or two-character value ("a", "1", "on") occurs everywhere, and masking it would turn every
 * log into asterisks while hiding nothing (a value that short can be guessed anyway).
 */
export const MIN_SECRET_CHARS = 3;

/**
 * The base64 texts that give the value away, for each way it can be aligned in a base64 stream.
 *
 * base64 turns each 6 bits into one character. When the value's bytes start at byte offset `k`
 * (mod 3) of the encoded stream, they occupy bits [8k, 8(k+n)) of their 3-byte group sequence, and
 * character j (bits [6j, 6j+6)) depends on the value's bytes alone when 6j >= 8k and 6j+6 <= 8(k+n),
 * that is for j in [ceil(4k/3), floor(4(k+n)/3)). Those characters are the same whatever bytes come
 * before or after, so they are cut from base64(k filler bytes + value): for k = 0, 1, 2 that is
 * characters [0, floor(4n/3)), [2, floor(4(n+1)/3)) and [3, floor(4(n+2)/3)). The characters at
 * either end that mix in a neighbour's bits are left alone: they depend on text that is not secret.
 * The value encoded on its own, `=` padding included, is one more form (the common `base64 <<< $S`).
 */
export function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const n = bytes.length;
  const forms = [bytes.toString('base64')];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const from = Math.ceil((4 * k) / 3);
    const to = Math.floor((4 * (k + n)) / 3);
    if (to > from) forms.push(encoded.slice(from, to));
  }
  return forms;
}

/** encodeURIComponent's form, and the same with `+` for spaces (form encoding); none when it equals the value. */
export function urlForms(value: string): string[] {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    // A lone surrogate cannot be URL-encoded, so it never appears URL-encoded either.
    return [];
  }
  const forms = encoded === value ? [] : [encoded];
  if (encoded.includes('%20')) forms.push(encoded.replace(/%20/g, '+'));
  return forms;
}

/** True for a value long enough to be masked (counted in characters, not UTF-16 units). */
export function isMaskable(value: string): boolean {
  let chars = 0;
  for (const _ of value) if (++chars >= MIN_SECRET_CHARS) return true;
  return false;
}

/**
 * Each line of a multi-line value (a PEM key) on its own: a step printing one line of it must not
 * show that line, and log lines arrive one at a time.
 */
function linesOf(value: string): string[] {
  if (!value.includes('\n')) return [];
  return value.split(/\r?\n/).filter(isMaskable);
}

/**
 * Every text to mask for these values: each maskable value and its forms, without duplicates, no
 * form shorter than MIN_SECRET_CHARS, longest first (ties in code-unit order, so the order never
 * depends on the values' order). Longest first makes one alternation mask all of a value that
 * contains another value: the longer one is tried first at each position.
 */
export function maskPatterns(values: Iterable<string>): string[] {
  const patterns = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string' || !isMaskable(value)) continue;
    for (const form of [value, ...urlForms(value), ...base64Forms(value), ...linesOf(value)]) {
      if (form.length >= MIN_SECRET_CHARS) patterns.add(form);
    }
  }
  return [...patterns].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
}
