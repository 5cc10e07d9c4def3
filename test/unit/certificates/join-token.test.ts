/** Join tokens: their text format, single stored hash, and errors that never quote the secret. */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterCa,
  createClusterCa,
  createJoinToken,
  JoinTokenFormatError,
  type JoinTokenPart,
  joinTokenNamesCa,
  parseJoinToken,
  type RandomBytes,
  verifyJoinSecret,
} from '../../../src/certificates/index.js';
import { errorOf } from './fixtures.js';

let ca: ClusterCa;
let otherCa: ClusterCa;
beforeAll(async () => {
  ca = await createClusterCa({ clusterId: 'alpha', now: new Date() });
  otherCa = await createClusterCa({ clusterId: 'beta', now: new Date() });
});

/** A random port that counts, so tokens are the same on every run. */
function countingRandom(start = 0): RandomBytes {
  let next = start;
  return (size) => Buffer.from(Array.from({ length: size }, () => next++ & 0xff));
}

const EXPIRES_AT = new Date('2030-01-01T00:00:00Z');

function issue(random: RandomBytes = countingRandom()) {
  return createJoinToken({ caFingerprint: ca.fingerprint, role: 'worker', expiresAt: EXPIRES_AT, random });
}

describe('createJoinToken', () => {
  it('writes kici1.<fingerprint>.<id>.<secret> and returns the record to store', () => {
    const issued = issue();
    const secret = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 8));
    expect(issued.token).toBe(`kici1.${ca.fingerprint.slice(7)}.0001020304050607.${secret.toString('base64url')}`);
    expect(issued.id).toBe('0001020304050607');
    expect(issued.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(issued).toMatchObject({ caFingerprint: ca.fingerprint, role: 'worker', expiresAt: EXPIRES_AT });
  });

  it('stores nothing from which the secret can be read back', () => {
    const issued = issue();
    const secretText = issued.token.split('.')[3]!;
    const { token: _token, ...record } = issued;
    expect(JSON.stringify(record)).not.toContain(secretText);
  });

  it('makes a different token each time with the system random source', () => {
    const a = createJoinToken({ caFingerprint: ca.fingerprint, role: 'coordinator', expiresAt: EXPIRES_AT });
    const b = createJoinToken({ caFingerprint: ca.fingerprint, role: 'coordinator', expiresAt: EXPIRES_AT });
    expect(a.token).toMatch(/^kici1\.[0-9a-f]{64}\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.secretHash).not.toBe(b.secretHash);
  });

  it('refuses bad parameters and a random source that gives too little', () => {
    expect(errorOf(() => createJoinToken({ caFingerprint: 'sha1:abc' as never, role: 'worker', expiresAt: EXPIRES_AT })).message).toMatch(/caFingerprint/);
    expect(errorOf(() => createJoinToken({ caFingerprint: ca.fingerprint, role: 'root' as never, expiresAt: EXPIRES_AT })).message).toMatch(/role/);
    expect(errorOf(() => createJoinToken({ caFingerprint: ca.fingerprint, role: 'worker', expiresAt: 'tomorrow' as never })).message).toMatch(/expiresAt/);
    expect(errorOf(() => issue(() => Buffer.alloc(4))).message).toMatch(/gave 4 bytes when 8 were asked for/);
  });
});

describe('parseJoinToken and verifyJoinSecret', () => {
  it('round-trips: the parsed token names the CA, finds its record by id, and matches the stored hash', () => {
    const issued = issue();
    const parsed = parseJoinToken(`  ${issued.token}\n`);
    expect(parsed.id).toBe(issued.id);
    expect(parsed.caFingerprint).toBe(ca.fingerprint);
    expect(verifyJoinSecret(parsed, issued.secretHash)).toBe(true);
  });

  it('refuses a wrong secret', () => {
    const issued = issue();
    const other = issue(countingRandom(100));
    const [version, fingerprint, id] = issued.token.split('.');
    const forged = parseJoinToken([version, fingerprint, id, other.token.split('.')[3]].join('.'));
    expect(forged.id).toBe(issued.id);
    expect(verifyJoinSecret(forged, issued.secretHash)).toBe(false);
  });

  it('lets the joiner tell the cluster it reached is the one the token names', () => {
    const parsed = parseJoinToken(issue().token);
    expect(joinTokenNamesCa(parsed, ca.certificatePem)).toBe(true);
    expect(joinTokenNamesCa(parsed, otherCa.certificatePem)).toBe(false);
  });

  it('throws on a stored hash that is not one, rather than answering no', () => {
    expect(() => verifyJoinSecret(parseJoinToken(issue().token), 'abc')).toThrow(TypeError);
  });

  const issued = () => issue();
  const cases: [string, (parts: string[]) => string, JoinTokenPart, RegExp][] = [
    ['empty text', () => '', 'token', /four parts/],
    ['too few parts', (p) => p.slice(1).join('.'), 'token', /this one has 3/],
    ['too many parts', (p) => [...p, 'x'].join('.'), 'token', /this one has 5/],
    ['another version', (p) => ['kici2', ...p.slice(1)].join('.'), 'version', /does not start with kici1/],
    ['a short fingerprint', (p) => [p[0], p[1]!.slice(2), p[2], p[3]].join('.'), 'fingerprint', /not 64 hex digits \(it has 62/],
    ['a fingerprint that is not hex', (p) => [p[0], `${p[1]!.slice(1)}z`, p[2], p[3]].join('.'), 'fingerprint', /not 64 hex digits/],
    ['a short id', (p) => [p[0], p[1], p[2]!.slice(1), p[3]].join('.'), 'id', /id is not 16 hex digits/],
    ['an id that is not hex', (p) => [p[0], p[1], `${p[2]!.slice(1)}g`, p[3]].join('.'), 'id', /id is not 16 hex digits/],
    ['a short secret', (p) => [p[0], p[1], p[2], p[3]!.slice(1)].join('.'), 'secret', /secret is not 43 base64url characters \(it has 42\)/],
    ['a secret in plain base64', (p) => [p[0], p[1], p[2], `${p[3]!.slice(1)}+`].join('.'), 'secret', /secret is not 43 base64url/],
    ['a secret with padding bits set', (p) => [p[0], p[1], p[2], `${p[3]!.slice(0, 42)}B`].join('.'), 'secret', /secret is not 43 base64url/],
  ];

  it.each(cases)('refuses %s, naming the part and never quoting the secret', (_name, mangle, part, message) => {
    const token = issued().token;
    const parts = token.split('.');
    const text = mangle(parts);
    const error = errorOf(() => parseJoinToken(text));
    expect(error).toBeInstanceOf(JoinTokenFormatError);
    expect((error as JoinTokenFormatError).part).toBe(part);
    expect(error.message).toMatch(message);
    for (const secretish of [parts[3]!, parts[3]!.slice(1), parts[3]!.slice(0, 42), text]) {
      if (secretish.length > 8) expect(error.message).not.toContain(secretish);
    }
  });

  it('keeps its secret out of logs and JSON', () => {
    const issuedToken = issue();
    const secret = issuedToken.token.split('.')[3]!;
    const parsed = parseJoinToken(issuedToken.token);
    for (const shown of [JSON.stringify(parsed), inspect(parsed), `${parsed}`, inspect({ nested: parsed }, { depth: 5, showHidden: true })]) {
      expect(shown).toContain(parsed.id);
      expect(shown).not.toContain(secret);
    }
  });
});
