/**
 * The live key holder and what a coordinator does with a key offer (issue 19): readers see a
 * handed-over key at once, an offer whose old key this node does not hold is refused (a stranger
 * cannot swap keys), a known one is taken, and a drop for another current key is refused.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { judgeKeyDrop, judgeKeyOffer, LiveSecretKeys, openersOf, parseSecretKey } from '../../../src/secrets/index.js';
import { open, seal } from '../../../src/secrets/sealing.js';

const key = () => parseSecretKey(randomBytes(32).toString('hex'));
const at = { orgId: 'org', scope: 'source/s1', name: 'token' };

describe('LiveSecretKeys', () => {
  it('is read at call time: a key installed later opens what was sealed with it', () => {
    const [old, next] = [key(), key()];
    const keys = new LiveSecretKeys(old);
    const sealedNew = seal(next, at, 'v-new');
    expect(() => open(openersOf(keys), at, sealedNew)).toThrow();
    keys.install(next, old);
    expect(keys.current).toBe(next);
    expect(open(openersOf(keys), at, sealedNew)).toBe('v-new');
    expect(open(openersOf(keys), at, seal(old, at, 'v-old'))).toBe('v-old');
  });

  it('drops the old key: a value still sealed with it no longer opens', () => {
    const [old, next] = [key(), key()];
    const keys = new LiveSecretKeys(next, old);
    const sealedOld = seal(old, at, 'v-old');
    expect(keys.dropOld()).toBe(true);
    expect(keys.old).toBeUndefined();
    expect(() => open(openersOf(keys), at, sealedOld)).toThrow();
    expect(keys.dropOld()).toBe(false);
  });

  it('keeps no old key equal to the current one', () => {
    const k = key();
    const keys = new LiveSecretKeys(key());
    keys.install(k, parseSecretKey(k.bytes.toString('hex')));
    expect(keys.old).toBeUndefined();
  });
});

describe('judgeKeyOffer', () => {
  it('refuses an offer whose old key this node does not hold, naming versions, never keys', () => {
    const [held, stranger, next] = [key(), key(), key()];
    const judged = judgeKeyOffer({ current: held }, { current: next, old: stranger });
    expect(judged.take).toBe(false);
    const reason = judged.take ? '' : judged.reason;
    expect(reason).toContain(`key version ${stranger.version}`);
    for (const k of [held, stranger, next]) expect(reason.includes(k.bytes.toString('hex'))).toBe(false);
  });

  it('takes an offer whose old key is its current or its old one', () => {
    const [old, next] = [key(), key()];
    expect(judgeKeyOffer({ current: old }, { current: next, old })).toMatchObject({ take: true, changed: true, current: next, old });
    const earlier = key();
    expect(judgeKeyOffer({ current: earlier, old }, { current: next, old })).toMatchObject({ take: true, changed: true });
  });

  it('changes nothing on a node already on the offered key', () => {
    const [old, next] = [key(), key()];
    expect(judgeKeyOffer({ current: next }, { current: next, old })).toMatchObject({ take: true, changed: false, current: next, old: undefined });
  });
});

describe('judgeKeyDrop', () => {
  it('drops only for the key this node holds as current', () => {
    const [old, next] = [key(), key()];
    expect(judgeKeyDrop({ current: next, old }, next.version)).toEqual({ drop: true });
    expect(judgeKeyDrop({ current: next }, next.version)).toEqual({ drop: false });
    expect(judgeKeyDrop({ current: old }, next.version).drop).toBe(false);
    expect(judgeKeyDrop({ current: old }, next.version).reason).toContain(`key version ${old.version}`);
  });
});
