/**
 * How S3 failing is told, kept apart from the SDK so that importing the store does not load the
 * AWS SDK (a fifth of a second) in programs and nodes that never use S3.
 */

/** A bucket missing or refusing writes at start: the node does not start. */
export class S3StorageUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3StorageUnavailableError';
  }
}

/** The line a step's log gets when some of its bytes could not be stored. */
export function lostBytesNotice(bytes: number, reason: string): string {
  return `\n[kici] ${bytes} bytes of this step's log could not be stored (${reason})\n`;
}
