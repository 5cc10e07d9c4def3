import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { AdminTokenRole } from '../../store/index.js';

/**
 * The admin API's view of HTTP, kept apart from the server room so the admin room does not
 * depend on the composition root: a request with params and query, and a reply.
 */
export interface ApiRequest {
  /** Whose admin token the request carries: the audit's actor, and (next) the reviewer who approves. */
  caller: AdminCaller;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

/** The admin token a request was authenticated with (names are unique among live tokens). */
export interface AdminCaller {
  tokenId: string;
  name: string;
  /** `viewer` tokens pass only the routes `viewerMayCall` admits. */
  role: AdminTokenRole;
}

export interface ApiReply {
  status: number;
  body?: unknown;
}

export type ApiHandler = (req: ApiRequest, res: ServerResponse) => Promise<ApiReply | undefined>;
export type RouteTable = [method: string, path: string, handler: ApiHandler][];

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function apiError(status: number, code: string, message: string): ApiFailure {
  return new ApiFailure(status, code, message);
}

const MAX_BODY = 1024 * 1024;

/** Read and validate a JSON body; every problem is a 400 naming the field. */
export async function parseBody<S extends z.ZodType>(req: ApiRequest, schema: S): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw apiError(413, 'payload_too_large', `body exceeds ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown = {};
  if (size > 0) {
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw apiError(400, 'bad_request', 'body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'body';
    throw apiError(400, 'invalid_request', `${where}: ${issue.message}`);
  }
  return parsed.data;
}
