/**
 * The HTTP side of the GitHub client: a fetch that gives up after a while (a retryable error), and
 * reading what a failed octokit request says (its cause chain, GitHub's message, its request line,
 * the next page of a listing).
 */
export const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

export class RequestTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'RequestTimeout';
  }
}

export function timedFetch(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const outer = init?.signal;
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
    }
    // The timer also covers reading the body (which happens after fetch resolves); it is unref'd
    // and aborting a finished response does nothing.
    const timer = setTimeout(() => controller.abort(new RequestTimeout(timeoutMs)), timeoutMs);
    timer.unref?.();
    try {
      return await fetch(input, { ...init, signal: controller.signal });
    } catch (error) {
      clearTimeout(timer);
      if (controller.signal.reason instanceof RequestTimeout) throw controller.signal.reason;
      throw error;
    }
  };
}

export interface HttpFailure {
  status?: number;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
  cause?: unknown;
  message?: string;
}

export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && chain.length < 5) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

export function githubMessage(data: unknown): string | undefined {
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  if (typeof data === 'string' && data.length > 0) {
    // A proxy's HTML error page: its text, briefly.
    const text = data.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    return text.length > 200 ? `${text.slice(0, 200)}…` : text || undefined;
  }
  return undefined;
}

export function isNetworkOrTimeout(error: unknown): boolean {
  return causeChain(error).some((e) => e instanceof RequestTimeout || (e instanceof TypeError && /fetch failed/.test(e.message)));
}

/** `METHOD path` of a failed octokit request, without the host or the query's secrets (there are none). */
export function requestLine(error: unknown): string {
  const request = (error as { request?: { method?: string; url?: string } })?.request;
  if (!request?.url) return 'request';
  let path = request.url;
  try {
    const url = new URL(request.url);
    path = url.pathname + url.search;
  } catch {
    // a relative url already
  }
  return `${request.method ?? 'GET'} ${decodeURIComponent(path)}`;
}

/** The `rel="next"` target of a Link header. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match && match[2]!.split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

