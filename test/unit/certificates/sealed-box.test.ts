/**
 * Sealed boxes: only the recipient's key opens one, only for the purpose it was sealed for, and
 * any change to any of its fields is caught. Failures never echo the plaintext.
 */
import { describe, expect, it } from 'vitest';
import { openSealed, PrivateKey, sealFor, type SealedBox, SealedBoxError } from '../../../src/certificates/index.js';

const PURPOSE = 'kici-test-purpose';
const SECRET = 'postgresql://kici:hunter2-very-secret@db:5432/kici';
const plaintext = Buffer.from(SECRET, 'utf8');

/** The error `fn` throws; fails the test if it throws nothing. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** Expect a SealedBoxError that does not reveal the secret anywhere in its text. */
function expectSealedBoxError(fn: () => unknown): SealedBoxError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(SealedBoxError);
  expect(e.name).toBe('SealedBoxError');
  for (const text of [e.message, String(e), e.stack ?? '']) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(plaintext.toString('base64'));
  }
  return e as SealedBoxError;
}

/** Flip one bit of the first byte of a base64 field. */
function flipped(base64: string, at = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[at] ^= 0x01;
  return bytes.toString('base64');
}

describe('sealed boxes', () => {
  it('open with the recipient key to the same bytes', () => {
    const recipient = PrivateKey.generate();
    const box = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    expect(box.v).toBe(1);
    expect(JSON.stringify(box)).not.toContain('hunter2');
    const opened = openSealed(recipient, box, PURPOSE);
    expect(Buffer.isBuffer(opened)).toBe(true);
    expect(opened.toString('utf8')).toBe(SECRET);
  });

  it('survive a JSON round trip (as they travel and rest)', () => {
    const recipient = PrivateKey.generate();
    const box = JSON.parse(JSON.stringify(sealFor(recipient.publicKeyDer(), plaintext, PURPOSE))) as unknown;
    expect(openSealed(recipient, box, PURPOSE).toString('utf8')).toBe(SECRET);
  });

  it('carry empty and binary plaintexts', () => {
    const recipient = PrivateKey.generate();
    expect(openSealed(recipient, sealFor(recipient.publicKeyDer(), new Uint8Array(0), PURPOSE), PURPOSE)).toEqual(Buffer.alloc(0));
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(openSealed(recipient, sealFor(recipient.publicKeyDer(), binary, PURPOSE), PURPOSE)).toEqual(binary);
  });

  it('are fresh each time: a new one-time key and iv, so equal plaintexts give unequal boxes', () => {
    const recipient = PrivateKey.generate();
    const one = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    const two = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    expect(one.epk).not.toBe(two.epk);
    expect(one.iv).not.toBe(two.iv);
    expect(one.data).not.toBe(two.data);
    expect(openSealed(recipient, two, PURPOSE).toString('utf8')).toBe(SECRET);
  });

  it('do not open with another key', () => {
    const recipient = PrivateKey.generate();
    const other = PrivateKey.generate();
    const box = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    expect(expectSealedBoxError(() => openSealed(other, box, PURPOSE)).message).toMatch(/does not open/);
    // The right key still opens it: the failure was the key's, not the box's.
    expect(openSealed(recipient, box, PURPOSE).toString('utf8')).toBe(SECRET);
  });

  it('do not open for another purpose', () => {
    const recipient = PrivateKey.generate();
    const box = sealFor(recipient.publicKeyDer(), plaintext, 'kici-join-secrets');
    expectSealedBoxError(() => openSealed(recipient, box, 'kici-something-else'));
    expectSealedBoxError(() => openSealed(recipient, box, ''));
    expect(openSealed(recipient, box, 'kici-join-secrets').toString('utf8')).toBe(SECRET);
  });

  describe('refuse a box with any field altered', () => {
    const recipient = PrivateKey.generate();
    const box = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    const anotherKey = PrivateKey.generate().publicKeyDer().toString('base64');
    const alterations: [string, SealedBox][] = [
      ['data: one bit flipped', { ...box, data: flipped(box.data) }],
      ['data: last byte flipped', { ...box, data: flipped(box.data, plaintext.length - 1) }],
      ['data: truncated', { ...box, data: Buffer.from(box.data, 'base64').subarray(0, plaintext.length - 1).toString('base64') }],
      ['data: extended', { ...box, data: Buffer.concat([Buffer.from(box.data, 'base64'), Buffer.from([0])]).toString('base64') }],
      ['tag: one bit flipped', { ...box, tag: flipped(box.tag) }],
      ['tag: last byte flipped', { ...box, tag: flipped(box.tag, 15) }],
      ['iv: one bit flipped', { ...box, iv: flipped(box.iv) }],
      ['epk: another valid public key', { ...box, epk: anotherKey }],
      ['epk: a bit flipped inside the point', { ...box, epk: flipped(box.epk, Buffer.from(box.epk, 'base64').length - 1) }],
      ['epk: not a key at all', { ...box, epk: Buffer.from('not a key').toString('base64') }],
    ];
    it.each(alterations)('%s', (_, altered) => {
      expectSealedBoxError(() => openSealed(recipient, altered, PURPOSE));
    });
    it('while the unaltered box still opens', () => {
      expect(openSealed(recipient, box, PURPOSE).toString('utf8')).toBe(SECRET);
    });
  });

  describe('refuse malformed input as malformed', () => {
    const recipient = PrivateKey.generate();
    const box = sealFor(recipient.publicKeyDer(), plaintext, PURPOSE);
    const { tag: _tag, ...withoutTag } = box;
    const { epk: _epk, ...withoutEpk } = box;
    const { data: _data, ...withoutData } = box;
    const { v: _v, ...withoutVersion } = box;
    const malformed: [string, unknown][] = [
      ['null', null],
      ['undefined', undefined],
      ['a string', JSON.stringify(box)],
      ['an array', [box]],
      ['version 2', { ...box, v: 2 }],
      ['version "1" as text', { ...box, v: '1' }],
      ['no version', withoutVersion],
      ['no tag', withoutTag],
      ['no epk', withoutEpk],
      ['no data', withoutData],
      ['an empty epk', { ...box, epk: '' }],
      ['an iv of the wrong length', { ...box, iv: Buffer.alloc(16).toString('base64') }],
      ['a tag of the wrong length', { ...box, tag: Buffer.alloc(8).toString('base64') }],
      ['an extra field carrying the secret', { ...box, note: SECRET }],
    ];
    it.each(malformed)('%s', (_, input) => {
      expect(expectSealedBoxError(() => openSealed(recipient, input, PURPOSE)).message).toMatch(/malformed/);
    });
  });
});
