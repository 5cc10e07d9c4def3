import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MASK, SecretMasker, base64Forms, maskPatterns } from '../../../src/masking/index.js';

/** Secrets whose UTF-8 lengths cover every remainder mod 3, and one with multi-byte characters. */
const SECRETS = ['supersecret', 'hunter2-pass', 'correct horse', 'pässwörd✓x'];

describe('SecretMasker: plain values', () => {
  it('masks every occurrence of every value', () => {
    const m = new SecretMasker(['supersecret', 'tok_abc123']);
    expect(m.mask('a supersecret, b tok_abc123, c supersecretsupersecret')).toBe('a ***, b ***, c ******');
  });

  it('is the identity without secrets (and ignores values that are not strings)', () => {
    const m = SecretMasker.of(undefined);
    expect(m.active).toBe(false);
    expect(m.mask('anything at all')).toBe('anything at all');
    expect(new SecretMasker([undefined as unknown as string, 42 as unknown as string]).active).toBe(false);
  });

  it('takes a dispatch-style name → value map', () => {
    const m = SecretMasker.of({ API_TOKEN: 'tok_abc123', DB_PASSWORD: 'pg-pass' });
    expect(m.mask('token=tok_abc123 password=pg-pass')).toBe('token=*** password=***');
  });

  it('never masks a value under three characters (it would destroy the logs), masks one of three', () => {
    const m = new SecretMasker(['ab', 'x', '', '日本', 'on']);
    expect(m.active).toBe(false);
    expect(m.mask('ab x 日本 on: nothing is hidden')).toBe('ab x 日本 on: nothing is hidden');
    // Characters are counted, not UTF-16 units or bytes: three characters are masked.
    const three = new SecretMasker(['abc', '日本語']);
    expect(three.mask('abc 日本語 ab')).toBe('*** *** ab');
  });

  it('treats regular-expression syntax in a secret as plain text', () => {
    const secret = 'a.b*c+(d)?[e]{f}|g^h$i\\j/k-l';
    const m = new SecretMasker([secret, '...', '.*+']);
    expect(m.mask(`x${secret}y`)).toBe(`x${MASK}y`);
    // The dots and the star match only themselves.
    expect(m.mask('aXbbbc(d)[e]{f}g abc ... .*+ .**')).toBe('aXbbbc(d)[e]{f}g abc *** *** .**');
  });

  it('masks a value containing another one whole, whichever order they come in', () => {
    for (const values of [['abc123', 'xabc123y'], ['xabc123y', 'abc123']]) {
      const m = new SecretMasker(values);
      expect(m.mask('[xabc123y] [abc123] [xabc123]')).toBe('[***] [***] [x***]');
    }
    // Overlapping without containment: the leftmost match wins, and what is left of the other shows.
    expect(new SecretMasker(['abcd', 'cdef']).mask('abcdef')).toBe('***ef');
  });

  it('dedupes values and lists patterns longest first', () => {
    const patterns = maskPatterns(['abc', 'abcdef', 'abc']);
    expect(patterns.filter((p) => p === 'abc')).toHaveLength(1);
    for (let i = 1; i < patterns.length; i++) expect(patterns[i - 1].length).toBeGreaterThanOrEqual(patterns[i].length);
  });

  it('masks the lines of one chunk together, so a value with a newline in it goes too', () => {
    const m = new SecretMasker(['-----BEGIN KEY-----\nMIIB\n-----END KEY-----']);
    expect(m.maskLines(['before', '-----BEGIN KEY-----', 'MIIB', '-----END KEY-----', 'after'])).toEqual(['before', '***', 'after']);
    expect(m.maskLines(['nothing', 'here'])).toEqual(['nothing', 'here']);
  });

  it('can be used again and again (the global regex starts over each time)', () => {
    const m = new SecretMasker(['supersecret']);
    for (let i = 0; i < 3; i++) expect(m.mask('supersecret and supersecret')).toBe('*** and ***');
    expect(m.maskDecided('x supersecret', 13)).toEqual({ masked: 'x ***', end: 13 });
    expect(m.mask('supersecret')).toBe('***');
  });
});

describe('SecretMasker: URL-encoded values', () => {
  it('masks the encodeURIComponent form, and the form-encoded one with + for spaces', () => {
    const secret = 'p@ss word/&=?';
    const encoded = encodeURIComponent(secret);
    expect(encoded).toBe('p%40ss%20word%2F%26%3D%3F');
    const m = new SecretMasker([secret]);
    expect(m.mask(`https://api.example/?token=${encoded}&x=1`)).toBe('https://api.example/?token=***&x=1');
    expect(m.mask(`body: token=${encoded.replace(/%20/g, '+')}`)).toBe('body: token=***');
    expect(m.mask(`raw ${secret}`)).toBe('raw ***');
  });
});

describe('SecretMasker: base64 at every alignment', () => {
  /**
   * Character j of a base64 text covers bits [6j, 6j+6). A secret of n bytes after p bytes covers
   * bits [8p, 8(p+n)), so characters ceil(8p/6) to floor(8(p+n)/6) - 1 depend on it alone.
   */
  function secretSpan(p: number, n: number): { from: number; to: number } {
    return { from: Math.ceil((8 * p) / 6), to: Math.floor((8 * (p + n)) / 6) };
  }

  const prefixes = ['', 'a', 'ab', 'abc', 'abcd', 'hello, ', 'é', 'TOKEN=\n'];
  const suffixes = ['', 'z', 'yz', '\n', ' and more text after it'];

  for (const secret of SECRETS) {
    it(`leaves no character of "${secret}"'s bytes in base64(prefix + secret + suffix), for every prefix length`, () => {
      const m = new SecretMasker([secret]);
      const n = Buffer.byteLength(secret);
      for (const prefix of prefixes) {
        for (const suffix of suffixes) {
          const encoded = Buffer.from(prefix + secret + suffix).toString('base64');
          const masked = m.mask(encoded);
          const parts = masked.split(MASK);
          const where = `prefix ${JSON.stringify(prefix)}, suffix ${JSON.stringify(suffix)}: ${encoded} → ${masked}`;
          expect(parts, where).toHaveLength(2);
          const [before, after] = parts;
          const { from, to } = secretSpan(Buffer.byteLength(prefix), n);
          // What is left are the encoding's own ends, up to the characters that mix in a neighbour's bits.
          expect(encoded.startsWith(before) && before.length <= from, where).toBe(true);
          expect(encoded.endsWith(after) && after.length <= encoded.length - to, where).toBe(true);
        }
      }
    });
  }

  it('masks the value encoded on its own whole, padding included', () => {
    const m = new SecretMasker(['supersecret']);
    const alone = Buffer.from('supersecret').toString('base64');
    expect(alone).toBe('c3VwZXJzZWNyZXQ=');
    expect(m.mask(`echo ${alone} | base64 -d`)).toBe('echo *** | base64 -d');
  });

  it('derives the three alignments as the characters that depend on the value alone', () => {
    // "abc" is 3 bytes (24 bits). At offset 0 all 4 characters are its own. After 1 byte
    // (base64("\0abc") = "AGFiYw==") its bits are 8..32: characters 2..4 ("FiY"); character 1
    // mixes in the byte before it, character 5 the byte after. After 2 bytes ("AABhYmM="):
    // bits 16..40, characters 3..5 ("hYm").
    expect(base64Forms('abc')).toEqual(['YWJj', 'YWJj', 'FiY', 'hYm']);
    // 11 bytes: alone it is padded; at offset 0 the 14 characters before the one the padding
    // touches; at offset 1 (12 bytes in all, nothing after needed) characters 2..15.
    expect(base64Forms('supersecret')).toEqual(['c3VwZXJzZWNyZXQ=', 'c3VwZXJzZWNyZX', 'N1cGVyc2VjcmV0', 'zdXBlcnNlY3Jld']);
    // And each really is in a text that embeds the value at that offset, whatever the bytes around it.
    const forms = base64Forms('supersecret').slice(1);
    for (const prefix of ['', '#', 'ab', 'xyz', 'xyz!', 'hello']) {
      for (const suffix of ['', '!', '!?', '!?.']) {
        const text = Buffer.from(`${prefix}supersecret${suffix}`).toString('base64');
        expect(text, `${prefix}|${suffix}`).toContain(forms[Buffer.byteLength(prefix) % 3]);
      }
    }
  });

  it('finds the secret inside a long base64 stream at any byte offset', () => {
    const secret = 'tok_' + randomBytes(16).toString('hex');
    const m = new SecretMasker([secret]);
    for (let offset = 0; offset < 12; offset++) {
      const encoded = randomBytes(300 + offset).toString('base64');
      const stream = Buffer.concat([Buffer.from(encoded), Buffer.from(secret), randomBytes(17)]).toString('base64');
      expect(m.mask(stream), `offset ${offset}`).toContain(MASK);
    }
  });
});

describe('SecretMasker: performance sanity', () => {
  it('masks a 1 MB chunk with 50 secrets in one linear pass', () => {
    const secrets = Array.from({ length: 50 }, (_, i) => `secret-${i}-${randomBytes(12).toString('hex')}`);
    const m = new SecretMasker(secrets);
    const line = 'the quick brown fox jumps over the lazy dog 0123456789 ABCDEF\n';
    const filler = line.repeat(Math.ceil((1024 * 1024) / line.length));
    const text = `${filler}${secrets.join(' ')}\n${filler}`;
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    const masked = m.mask(text);
    expect(masked.split(MASK)).toHaveLength(51);
    for (const s of secrets) expect(masked).not.toContain(s);
    // No timed assertion: `bench/`-style figures belong elsewhere. A backtracking blow-up would
    // show as this test running for minutes instead of milliseconds.
  });
});
