/**
 * A git server over HTTP on 127.0.0.1: git's own `git http-backend` (the smart HTTP protocol, as
 * GitHub and every git host speak it) behind a node HTTP server that first checks the request's
 * `Authorization` header, the way GitHub checks an installation token sent as basic auth
 * (`x-access-token:<token>`). Repositories are bare repositories under `root`
 * (`<root>/<owner>/<name>.git`). Every request is recorded with the credentials it came with
 * (whether any, and whether they were accepted — never the credentials) and its URL, so a test can
 * show the token travelled in a header and never in the URL.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpRequest {
  method: string;
  url: string;
  auth: 'none' | 'accepted' | 'refused';
}

export class GitHttpServer {
  readonly requests: GitHttpRequest[] = [];
  private readonly server: Server;
  private port = 0;

  /** `accepts(username, password)` decides a basic-auth request; without credentials a request is refused. */
  constructor(
    private readonly root: string,
    private readonly accepts: (username: string, password: string) => boolean,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = this.authorise(req.headers.authorization);
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', auth });
    if (auth !== 'accepted') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' });
      res.end('Invalid username or token.\n');
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const backend = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'x-access-token',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(backend.stdin);
    const chunks: Buffer[] = [];
    backend.stdout.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => backend.on('close', () => resolve()));
    this.answer(res, Buffer.concat(chunks));
  }

  /** A CGI answer: header lines (`Status:` among them), a blank line, the body. */
  private answer(res: ServerResponse, output: Buffer): void {
    const end = output.indexOf('\r\n\r\n');
    const head = output.subarray(0, end < 0 ? 0 : end).toString('latin1');
    const body = end < 0 ? output : output.subarray(end + 4);
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head.split('\r\n').filter(Boolean)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'status') status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(body);
  }

  private authorise(header: string | undefined): GitHttpRequest['auth'] {
    const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header) : null;
    if (!match) return 'none';
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'refused';
    return this.accepts(decoded.slice(0, colon), decoded.slice(colon + 1)) ? 'accepted' : 'refused';
  }
}
