/**
 * The S3 requests both stores make, on one bucket under one key prefix, each retried with backoff
 * when S3's answer says a retry may succeed (a 5xx, throttling, a timeout, a dropped connection).
 * A refusal (403, 404, 400, …) is final at once: retrying it only delays the error.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3_RETRY_DEFAULTS, type S3StorageSettings } from './s3-settings.js';

export interface ListedObject {
  /** The key without the bucket prefix. */
  key: string;
  size: number;
}

/** A request S3 still refused after the retries: names the request and the bucket, and keeps S3's answer. */
export class S3RequestError extends Error {
  constructor(
    what: string,
    bucket: string,
    readonly answer: string,
    options: { cause: unknown },
  ) {
    super(`S3 ${what} in bucket "${bucket}" failed: ${answer}`, options);
    this.name = 'S3RequestError';
  }
}

/** S3's answer, shortened for a log line or an error: `503 ServiceUnavailable: Please reduce …`. */
export function describeS3Error(error: unknown): string {
  if (error instanceof S3RequestError) return error.answer;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name ?? e?.code ?? 'Error';
  // HEAD answers have no body, so the SDK's message is a placeholder there.
  const message = e?.message && e.message !== 'UnknownError' && e.message !== name ? `: ${e.message}` : '';
  return `${status ? `${status} ` : ''}${name}${message}`;
}

export function isRetryableS3Error(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return true; // no answer at all: a reset or refused connection
  return status >= 500 || status === 429 || status === 408 || e.name === 'SlowDown' || e.name === 'RequestTimeout';
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class S3Requests {
  private readonly attempts: number;
  private readonly baseDelayMs: number;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** A folder (`ci/`) or ''. */
    readonly prefix: string,
    retry: S3StorageSettings['retry'] = S3_RETRY_DEFAULTS,
    private readonly pageSize?: number,
  ) {
    this.attempts = Math.max(1, retry.attempts);
    this.baseDelayMs = retry.baseDelayMs;
  }

  /** `request` tried up to `attempts` times, waiting base, 2×base, 4×base, … between tries. */
  async retrying<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (attempt >= this.attempts || !isRetryableS3Error(error)) throw error;
        await sleep(this.baseDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  private failed(what: string, key: string, error: unknown): S3RequestError {
    return new S3RequestError(`${what} ${this.prefix}${key}`, this.bucket, describeS3Error(error), { cause: error });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.retrying(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: bytes, ContentLength: bytes.byteLength })));
    } catch (error) {
      throw this.failed('PutObject', key, error);
    }
  }

  /** null when there is no such object. */
  async get(key: string): Promise<Buffer | null> {
    try {
      return await this.retrying(async () => {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
        return Buffer.from((await answer.Body?.transformToByteArray()) ?? new Uint8Array(0));
      });
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.failed('GetObject', key, error);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.retrying(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.failed('HeadObject', key, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.retrying(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
    } catch (error) {
      throw this.failed('DeleteObject', key, error);
    }
  }

  /** Every object whose key starts with `keyPrefix` (after `startAfter`, when given), page by page, in S3's (byte) order. */
  async *list(keyPrefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const request = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + keyPrefix,
        ContinuationToken: token,
        MaxKeys: this.pageSize,
        StartAfter: token || startAfter === undefined ? undefined : this.prefix + startAfter,
      });
      const page = await this.retrying(() => this.client.send(request)).catch((error: unknown) => {
        throw this.failed('ListObjectsV2', keyPrefix, error);
      });
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
