/** The admin API over HTTP: the only way kici-admin talks to an orchestrator (except `db migrate`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AdminApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    if (!res.ok) throw await apiErrorOf(res);
    const text = await res.text();
    return (text ? safeJson(text) : undefined) as T;
  }

  raw(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.baseUrl.replace(/\/+$/, '')}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((e: Error) => {
      throw new ApiError(0, 'unreachable', `cannot reach the orchestrator at ${this.baseUrl}: ${e.cause instanceof Error ? e.cause.message : e.message}`);
    });
  }
}

/** The API's `{ error: { code, message } }` of a failed reply, or its text when it has none. */
export async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  const err = (text ? (safeJson(text) as { error?: { code?: string; message?: string } }) : undefined)?.error;
  return new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? (text || res.statusText));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'bad_response', message: text.slice(0, 200) } };
  }
}
