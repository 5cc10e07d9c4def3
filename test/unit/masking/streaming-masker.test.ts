import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/clock/index.js';
import { SecretMasker, type StreamingMasker } from '../../../src/masking/index.js';

/** Feed the pieces in order and collect what comes out, the end included. */
function feed(stream: StreamingMasker, pieces: string[]): { outs: string[]; text: string } {
  const outs = pieces.map((p) => stream.write(p));
  outs.push(stream.end());
  return { outs, text: outs.join('') };
}

describe('StreamingMasker', () => {
  it('masks a secret split across two writes (printf sup; printf ersecret)', () => {
    const m = new SecretMasker(['supersecret']);
    const { outs, text } = feed(m.stream(), ['sup', 'ersecret\n']);
    expect(outs).toEqual(['', '***\n', '']);
    expect(text).toBe('***\n');
  });

  it('masks a secret split across three writes, with text around it', () => {
    const m = new SecretMasker(['supersecret']);
    const { outs, text } = feed(m.stream(), ['before su', 'perse', 'cret after\n']);
    expect(text).toBe('before *** after\n');
    for (const out of outs) expect(out).not.toMatch(/su|perse|cret/);
  });

  it('masks a secret split one character per write', () => {
    const m = new SecretMasker(['supersecret', 'hunter2']);
    const text = 'x supersecret y hunter2 z\n';
    const { outs, text: masked } = feed(m.stream(), [...text]);
    expect(masked).toBe('x *** y *** z\n');
    expect(outs.join('')).toBe(m.mask(text));
  });

  it('masks the base64 form split across writes', () => {
    const m = new SecretMasker(['supersecret']);
    const encoded = Buffer.from('token: supersecret\n').toString('base64');
    const { text } = feed(m.stream(), [encoded.slice(0, 13), encoded.slice(13, 19), encoded.slice(19)]);
    expect(text).toBe(m.mask(encoded));
    expect(text).toContain('***');
  });

  it('flushes what it holds back at the end of the stream', () => {
    const m = new SecretMasker(['supersecret']);
    const s = m.stream();
    expect(s.write('tail sup')).toBe('tail ');
    expect(s.pending).toBe(3);
    expect(s.end()).toBe('sup');
    expect(s.pending).toBe(0);
    // A secret completed by the last write is masked by it, nothing left for the end.
    const t = m.stream();
    expect(t.write('supersecret')).toBe('***');
    expect(t.end()).toBe('');
  });

  it('holds back only the tail that could still become a secret', () => {
    const m = new SecretMasker(['supersecret', 'abcabd']);
    const s = m.stream();
    expect(s.write('hello world\n')).toBe('hello world\n');
    expect(s.pending).toBe(0);
    // "s" could start "supersecret"; "hello " could not.
    expect(s.write('hello s')).toBe('hello ');
    expect(s.pending).toBe(1);
    expect(s.write('x\n')).toBe('sx\n');
    expect(s.pending).toBe(0);
    // "abcab" is a prefix of "abcabd"; after one more "c" only "abc" still is.
    expect(s.write('xxabcab')).toBe('xx');
    expect(s.pending).toBe(5);
    expect(s.write('c')).toBe('abc');
    expect(s.pending).toBe(3);
    expect(s.write('abd!')).toBe('***!');
    expect(s.pending).toBe(0);
  });

  it('waits for the longer of two overlapping secrets before masking the shorter', () => {
    const m = new SecretMasker(['abc', 'abcdef']);
    const s = m.stream();
    expect(s.write('abc')).toBe('');
    expect(s.write('de')).toBe('');
    expect(s.write('f')).toBe('***');
    expect(s.write('abc')).toBe('');
    expect(s.write('dx')).toBe('***dx');
    expect(s.end()).toBe('');
  });

  it('passes everything through at once when there is nothing to mask', () => {
    const s = new SecretMasker(['ab']).stream();
    expect(s.write('a')).toBe('a');
    expect(s.pending).toBe(0);
  });

  it('gives exactly mask(whole stream), however the stream is split, and never holds more than longest - 1', () => {
    const rng = new SeededRandom(42);
    const secrets = ['supersecret', 'super', 'p@ss word', 'ab\ncd', 'x'.repeat(40), 'tok_' + randomBytes(8).toString('hex')];
    const m = new SecretMasker(secrets);
    // Text made of secrets, their prefixes and forms, and noise, so boundaries fall everywhere.
    const bits = [...m.patterns, ...m.patterns.map((p) => p.slice(0, Math.max(1, p.length - 2))), 'noise ', '\n', 's', 'x', 'ab'];
    for (let round = 0; round < 200; round++) {
      let text = '';
      for (let i = 0; i < 30; i++) text += bits[rng.int(0, bits.length - 1)];
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = rng.int(1, 12);
        pieces.push(text.slice(at, at + size));
        at += size;
      }
      const s = m.stream();
      const outs: string[] = [];
      for (const piece of pieces) {
        outs.push(s.write(piece));
        expect(s.pending).toBeLessThanOrEqual(m.longest - 1);
      }
      outs.push(s.end());
      expect(outs.join(''), `round ${round}`).toBe(m.mask(text));
    }
  });

  it('streams 1 MB with 50 secrets in small writes, linearly', () => {
    const secrets = Array.from({ length: 50 }, (_, i) => `secret-${i}-${randomBytes(12).toString('hex')}`);
    const m = new SecretMasker(secrets);
    const line = 'the quick brown fox jumps over the lazy dog 0123456789 ABCDEF\n';
    const text = line.repeat(Math.ceil((512 * 1024) / line.length)) + secrets.join('\n') + '\n' + line.repeat(8000);
    const s = m.stream();
    let out = '';
    // Pipe-sized and tiny writes alike: each write looks at its own text and a bounded tail only.
    for (let at = 0, size = 1; at < text.length; at += size, size = size === 4096 ? 7 : 4096) out += s.write(text.slice(at, at + size));
    out += s.end();
    expect(out).toBe(m.mask(text));
    for (const secret of secrets) expect(out).not.toContain(secret);
  });
});
