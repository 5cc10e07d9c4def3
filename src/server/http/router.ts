import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A small method + path router. Route patterns are literal segments and `:name` parameters;
 * that is all kici's HTTP surface needs, and it keeps the hot path (webhooks) free of framework cost.
 */
export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export interface HttpReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text body (e.g. Prometheus exposition); sent as is instead of JSON. */
  text?: string;
}

export type Handler = (req: HttpRequest, res: ServerResponse) => Promise<HttpReply | undefined> | HttpReply | undefined;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];

  constructor(private readonly basePath = '') {}

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: split(pattern), handler });
    return this;
  }

  /** Find the handler for a request; `undefined` when the path is outside the base path or unknown. */
  match(method: string, url: string): { handler: Handler; params: Record<string, string>; path: string; query: URLSearchParams } | 'method_not_allowed' | undefined {
    const parsed = new URL(url, 'http://localhost');
    let pathname = parsed.pathname;
    if (this.basePath) {
      if (pathname !== this.basePath && !pathname.startsWith(`${this.basePath}/`)) return undefined;
      pathname = pathname.slice(this.basePath.length) || '/';
    }
    const parts = split(pathname);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method) return { handler: route.handler, params, path: pathname, query: parsed.searchParams };
    }
    return pathMatched ? 'method_not_allowed' : undefined;
  }
}

function split(p: string): string[] {
  return p.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i];
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return undefined;
      }
    } else if (want !== parts[i]) {
      return undefined;
    }
  }
  return params;
}
