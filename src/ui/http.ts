import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/**
 * The web view's view of HTTP, shaped like the server room's router types so the composition root
 * mounts these routes as they are, without this room importing it (only entry points do).
 */
export interface UiRequest {
  method: string;
  /** The path with the base path already stripped. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export interface UiReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  text?: string;
}

export type UiHandler = (req: UiRequest, res: ServerResponse) => Promise<UiReply | undefined>;
export type UiRoute = [method: string, path: string, handler: UiHandler];

/** A refusal the room answers as `{"error":{"code","message"}}` with its status. */
export class UiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const errorReply = (status: number, code: string, message: string, headers: Record<string, string> = {}): UiReply => ({
  status,
  headers: { 'cache-control': 'no-store', ...headers },
  body: { error: { code, message } },
});

/** JSON answers of the web view's API: never cached (they carry session state and csrf values). */
export const jsonReply = (status: number, body: unknown, headers: Record<string, string> = {}): UiReply => ({
  status,
  headers: { 'cache-control': 'no-store', ...headers },
  body,
});

/** Sign-in bodies are a token and nothing more: anything larger is not one. */
const MAX_BODY = 16 * 1024;

/** Read and validate a small JSON body; every problem is a 400 (413 past the cap), never a crash. */
export async function readJsonBody<S extends z.ZodType>(raw: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new UiRefusal(413, 'payload_too_large', `body exceeds ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new UiRefusal(400, 'bad_request', 'body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new UiRefusal(400, 'invalid_request', firstIssue(parsed.error));
  return parsed.data;
}

/** Query parameters checked against `schema` (a 400 naming the first problem). Empty values count as absent. */
export function readQuery<S extends z.ZodType>(query: URLSearchParams, schema: S): z.infer<S> {
  const present = Object.fromEntries([...query].filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new UiRefusal(400, 'invalid_request', firstIssue(parsed.error));
  return parsed.data;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`;
}

export type { ServerResponse };
