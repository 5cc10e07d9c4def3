/**
 * Object storage behind one small interface, so the filesystem store used by a single node, the
 * database store used by nodes sharing a PostgreSQL and the S3 store used in production are
 * interchangeable. Keys are `/`-separated paths of safe segments.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** null when there is no such object. */
  get(key: string): Promise<Buffer | null>;
  /** false when there was nothing to delete. */
  delete(key: string): Promise<boolean>;
  /** Keys under a prefix (`a/b/` lists everything below `a/b`), sorted. */
  list(prefix: string): Promise<string[]>;
}

const SEGMENT = /^[A-Za-z0-9._~%:@+=-]+$/;

export class InvalidBlobKeyError extends Error {
  constructor(key: string) {
    super(`invalid blob key ${JSON.stringify(key)}: segments must match ${SEGMENT.source} and not be . or ..`);
    this.name = 'InvalidBlobKeyError';
  }
}

/** Refuse anything that could escape the store's root or mean different things on different backends. */
export function assertBlobKey(key: string): void {
  const segments = key.split('/');
  const ok = segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new InvalidBlobKeyError(key);
}

/** Turn an arbitrary id (a delivery id may hold `/`) into one safe key segment. */
export function keySegment(value: string): string {
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  // encodeURIComponent leaves '.' alone, so '.' and '..' would survive as path segments.
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}
