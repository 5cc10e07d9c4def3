import http from 'node:http';

/**
 * What a browser does to the web view, by hand over node:http (so a test can send any Origin,
 * Sec-Fetch-Site or raw path a browser would, or would never, send): a cookie jar of one cookie,
 * the csrf value from sign-in, and a Server-Sent Events reader.
 */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): Record<string, unknown>;
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body text (sent as is, for malformed JSON). */
  raw?: string;
  headers?: Record<string, string>;
  /** Send the session cookie (default: when there is one). */
  cookie?: boolean;
  /** Send X-CSRF-Token (default: on every change, when there is one). */
  csrf?: boolean;
  /** Send Origin: the page's own (default for changes), another, or none. */
  origin?: string | false;
  localAddress?: string;
}

export class UiBrowser {
  secret?: string;
  csrf?: string;
  readonly origin: string;
  private readonly url: URL;

  constructor(base: string) {
    this.url = new URL(base);
    this.origin = this.url.origin;
  }

  /** `path` is relative to the orchestrator's base path and sent exactly as written. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    const change = method !== 'GET' && method !== 'HEAD';
    const headers: Record<string, string> = { ...options.headers };
    if ((options.cookie ?? true) && this.secret) headers.cookie = `other=1; kici_session=${this.secret}`;
    if ((options.csrf ?? change) && this.csrf) headers['x-csrf-token'] = this.csrf;
    const origin = options.origin ?? (change ? this.origin : false);
    if (origin) headers.origin = origin;
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (payload !== undefined) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.url.hostname, port: this.url.port, path: `${this.url.pathname.replace(/\/$/, '')}${path}`, method, headers, localAddress: options.localAddress, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sign in with `token`; keeps the cookie's secret and the csrf value as a page would. */
  async signIn(token: string, options: RequestOptions = {}): Promise<Answer> {
    const answer = await this.request('POST', '/ui/api/session', { body: { token }, ...options });
    const cookie = setCookie(answer);
    if (answer.status === 200 && cookie) {
      this.secret = /^kici_session=([^;]*)/.exec(cookie)?.[1];
      this.csrf = answer.json().csrf as string;
    }
    return answer;
  }

  /** Open a live feed (`/ui/api/live/…`); resolves once the response's headers arrived. */
  feed(path: string): Promise<EventFeed> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.url.hostname, port: this.url.port, path: `${this.url.pathname.replace(/\/$/, '')}${path}`, method: 'GET', headers: { cookie: `kici_session=${this.secret}`, accept: 'text/event-stream' }, agent: false },
        (res) => resolve(new EventFeed(req, res)),
      );
      req.on('error', reject);
      req.end();
    });
  }
}

export function setCookie(answer: Answer): string | undefined {
  const header = answer.headers['set-cookie'];
  return Array.isArray(header) ? header[0] : header;
}

export interface FeedEvent {
  event: string;
  data: unknown;
}

/** The events of one Server-Sent Events response, kept in order; a test waits for one by name. */
export class EventFeed {
  readonly events: FeedEvent[] = [];
  readonly comments: string[] = [];
  readonly ended: Promise<void>;
  private buffer = '';
  private waiters: (() => void)[] = [];
  private isEnded = false;

  constructor(
    private readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let cut: number;
      while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
        this.take(this.buffer.slice(0, cut));
        this.buffer = this.buffer.slice(cut + 2);
      }
      this.wake();
    });
    this.ended = new Promise((resolve) => {
      const done = () => {
        this.isEnded = true;
        this.wake();
        resolve();
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
  }

  get status(): number {
    return this.res.statusCode!;
  }

  /** The first event named `event` for which `where` holds (already received or still to come). */
  next(event: string, where: (data: any) => boolean = () => true, timeoutMs = 20_000): Promise<any> {
    const find = () => this.events.find((e) => e.event === event && where(e.data))?.data;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${timeoutMs} ms (saw: ${this.events.map((e) => e.event).join(', ')})`)), timeoutMs);
      const check = () => {
        const found = find();
        if (found !== undefined) {
          clearTimeout(timer);
          return resolve(found);
        }
        if (this.isEnded) {
          clearTimeout(timer);
          return reject(new Error(`the feed ended before a "${event}" event (saw: ${this.events.map((e) => e.event).join(', ')})`));
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  close(): void {
    this.req.destroy();
  }

  private take(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) this.events.push({ event, data: JSON.parse(data.join('\n')) });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
