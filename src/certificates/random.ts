/**
 * Where random bytes come from: a port, so tests can make tokens and serials deterministic while
 * programs use the operating system's generator.
 */
import { randomBytes } from 'node:crypto';

export type RandomBytes = (size: number) => Buffer;

export const systemRandom: RandomBytes = (size) => randomBytes(size);

/** Ask `random` for `size` bytes and hold it to that: a short answer would silently weaken a secret. */
export function drawBytes(random: RandomBytes, size: number): Buffer {
  const bytes = random(size);
  if (!Buffer.isBuffer(bytes) || bytes.length !== size) {
    throw new Error(`the random source gave ${Buffer.isBuffer(bytes) ? `${bytes.length} bytes` : 'no buffer'} when ${size} were asked for`);
  }
  return bytes;
}
