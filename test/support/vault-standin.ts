/**
 * A HashiCorp Vault stand-in: an HTTP server on 127.0.0.1 speaking the subset of Vault's HTTP API
 * kici's Vault backend uses, built from Vault's API documentation (HTTP API overview, KV secrets
 * engine version 2, AppRole auth method, /sys/health), not from Vault's code. What it answers, and
 * which documented response each row stands for, is listed (and asserted) in
 * test/integration/secrets/vault-standin.test.ts.
 *
 * - Every route is under `/v1/`. Errors are `{"errors": [...]}` with the documented status.
 * - KV v2 mounts (`secret` by default): `GET|POST|PUT {mount}/data/{path}` (read, or create/update
 *   with `options.cas`), `LIST {mount}/metadata/{path}/` or `GET …?list=true` (keys one level
 *   down, a folder suffixed `/`; nothing there: 404 `{"errors":[]}`), `DELETE {mount}/data/{path}`
 *   (soft delete of the latest version: reads answer 404 again).
 * - `X-Vault-Token` must be the root token or a live AppRole token: otherwise 403
 *   `{"errors":["permission denied"]}`. With a namespace configured, `X-Vault-Namespace` must name
 *   it (trailing `/` optional), else 403 too (the token belongs to the namespace).
 * - `POST auth/approle/login` `{role_id, secret_id}`: 200 `{"auth":{"client_token","lease_duration",…}}`,
 *   or 400 `{"errors":["invalid role or secret ID"]}`.
 * - `GET sys/health`: 200 active, 503 sealed (its body says `"sealed": true`); unauthenticated.
 * - Injected failures: `failWith(500|503, message)` answers every other route so (503 by default
 *   `Vault is sealed`, which also seals sys/health); `hang()` accepts requests and never answers.
 *
 * Every request is recorded (method, path, the namespace header, whether a token was sent — never
 * the token itself) for assertions.
 *
 * It speaks HTTP/1.1 over a plain TCP server with its own small parser (request line, headers,
 * Content-Length or chunked body, keep-alive): Node's HTTP parser knows a fixed list of methods and
 * refuses Vault's `LIST`, which the stand-in must take.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

interface Version {
  data: Record<string, unknown> | null;
  created: string;
  deleted: string;
}

interface KvEntry {
  versions: Version[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  namespace: string | null;
  withToken: boolean;
}

export interface VaultStandInOptions {
  /** The root token; random by default. */
  token?: string;
  /** KV version 2 mounts; `secret` by default. */
  mounts?: string[];
  /** Require this `X-Vault-Namespace`. */
  namespace?: string;
  /** Enable AppRole with this role and secret id. */
  approle?: { roleId: string; secretId: string; leaseSeconds?: number };
}

interface Request {
  method: string;
  target: string;
  headers: Map<string, string>;
  body: string;
}

interface Reply {
  status: number;
  body?: unknown;
}

const REASONS: Record<number, string> = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export class VaultStandIn {
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  /** How many AppRole logins succeeded. */
  logins = 0;
  url = '';
  private readonly kv = new Map<string, KvEntry>();
  private readonly mounts: Set<string>;
  private readonly issued = new Map<string, number>();
  private failure: { status: number; message: string } | null = null;
  private hanging = false;
  private readonly sockets = new Set<Socket>();
  /** Connections with a request left unanswered (`hang`). */
  private readonly held = new Set<Socket>();
  private server!: Server;

  private constructor(private readonly options: VaultStandInOptions) {
    this.token = options.token ?? `hvs.${randomBytes(12).toString('hex')}`;
    this.mounts = new Set(options.mounts ?? ['secret']);
  }

  static async start(options: VaultStandInOptions = {}): Promise<VaultStandIn> {
    const standIn = new VaultStandIn(options);
    await standIn.listen(0);
    return standIn;
  }

  /** Write a new version of the KV secret at `path` of `mount` (as `vault kv put`); returns the version. */
  put(path: string, data: Record<string, unknown>, mount = 'secret'): number {
    const key = `${mount}/${trim(path)}`;
    const entry = this.kv.get(key) ?? { versions: [] };
    entry.versions.push({ data: { ...data }, created: new Date().toISOString(), deleted: '' });
    this.kv.set(key, entry);
    return entry.versions.length;
  }

  /** Soft-delete the latest version (as `vault kv delete`). */
  delete(path: string, mount = 'secret'): void {
    const latest = this.kv.get(`${mount}/${trim(path)}`)?.versions.at(-1);
    if (latest) latest.deleted = new Date().toISOString();
  }

  /** Answer every route but sys/health with this status (503: sealed, sys/health says so too); null heals. */
  failWith(status: number | null, message = status === 503 ? 'Vault is sealed' : 'internal error'): void {
    this.failure = status === null ? null : { status, message };
  }

  /** Take requests and never answer them, until `heal()` (which drops their connections). */
  hang(): void {
    this.hanging = true;
  }

  heal(): void {
    this.failure = null;
    for (const socket of this.held) socket.destroy();
    this.held.clear();
    this.hanging = false;
  }

  /** Every AppRole token issued so far stops working (as when its lease ends or it is revoked). */
  revokeIssuedTokens(): void {
    this.issued.clear();
  }

  /** Stop listening: connections are refused until `restart()`. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listen again on the port it had. */
  restart(): Promise<void> {
    return this.listen(Number(new URL(this.url).port));
  }

  async close(): Promise<void> {
    this.hanging = false;
    if (this.server.listening) await this.stop();
  }

  private listen(port: number): Promise<void> {
    this.server = createServer((socket) => this.serve(socket));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  /** HTTP/1.1 on one connection: requests one after another (keep-alive). */
  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    let busy = false;
    const next = () => {
      if (busy) return;
      const request = parseRequest(buffer);
      if (request === 'incomplete') return;
      if (request === 'bad') {
        socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      buffer = buffer.subarray(request.length);
      busy = true;
      const reply = this.answer(request.request);
      if (reply === null) {
        this.held.add(socket); // hanging: never answered
        return;
      }
      const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
      const head = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? 'Status'}\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: keep-alive\r\n\r\n`;
      socket.write(request.request.method === 'HEAD' ? head : head + text);
      busy = false;
      next();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      next();
    });
  }

  /** The reply to one request, or null to never answer it. */
  private answer(req: Request): Reply | null {
    const url = new URL(req.target, 'http://standin');
    const method = req.method;
    const namespace = req.headers.get('x-vault-namespace') ?? null;
    const token = req.headers.get('x-vault-token') ?? null;
    this.requests.push({ method, path: decodeURIComponent(url.pathname), query: url.search, namespace, withToken: token !== null });
    if (this.hanging) return null;
    if (!url.pathname.startsWith('/v1/')) return { status: 404, body: { errors: [] } };
    const path = decodeURIComponent(url.pathname.slice('/v1/'.length));

    if (path === 'sys/health' && (method === 'GET' || method === 'HEAD')) {
      const sealed = this.failure?.status === 503;
      if (this.failure && !sealed) return { status: this.failure.status, body: { errors: [this.failure.message] } };
      return {
        status: sealed ? 503 : 200,
        body: { initialized: true, sealed, standby: false, performance_standby: false, replication_performance_mode: 'disabled', replication_dr_mode: 'disabled', server_time_utc: Math.floor(Date.now() / 1000), version: '1.15.0+standin', cluster_name: 'vault-standin', cluster_id: 'standin' },
      };
    }
    if (this.failure) return { status: this.failure.status, body: { errors: [this.failure.message] } };

    if (path === 'auth/approle/login' && (method === 'POST' || method === 'PUT')) {
      const approle = this.options.approle;
      if (!approle) return { status: 404, body: { errors: ['no handler for route "auth/approle/login". route entry not found.'] } };
      const login = parse(req.body) as { role_id?: unknown; secret_id?: unknown } | null;
      if (login?.role_id !== approle.roleId || login?.secret_id !== approle.secretId) return { status: 400, body: { errors: ['invalid role or secret ID'] } };
      const client = `hvs.approle-${randomBytes(8).toString('hex')}`;
      const lease = approle.leaseSeconds ?? 1200;
      this.issued.set(client, Date.now() + lease * 1000);
      this.logins += 1;
      return {
        status: 200,
        body: { request_id: 'standin', lease_id: '', renewable: false, lease_duration: 0, data: null, wrap_info: null, warnings: null, auth: { client_token: client, accessor: 'standin-accessor', policies: ['default'], token_policies: ['default'], metadata: { role_name: 'kici' }, lease_duration: lease, renewable: true } },
      };
    }

    if (!this.tokenValid(token) || !this.namespaceValid(namespace)) return { status: 403, body: { errors: ['permission denied'] } };

    const [mount, kind, ...rest] = path.split('/');
    if (!mount || !this.mounts.has(mount) || (kind !== 'data' && kind !== 'metadata')) {
      return { status: 404, body: { errors: [`no handler for route "${path}". route entry not found.`] } };
    }
    const listing = method === 'LIST' || (method === 'GET' && url.searchParams.get('list') === 'true');
    const logical = trim(rest.join('/'));

    if (kind === 'metadata' && listing) {
      const prefix = logical === '' ? '' : `${logical}/`;
      const keys = new Set<string>();
      for (const [key, entry] of this.kv) {
        if (!key.startsWith(`${mount}/${prefix}`) || entry.versions.length === 0) continue;
        const below = key.slice(mount.length + 1 + prefix.length);
        const slash = below.indexOf('/');
        keys.add(slash === -1 ? below : below.slice(0, slash + 1));
      }
      if (keys.size === 0) return { status: 404, body: { errors: [] } };
      return { status: 200, body: { request_id: 'standin', lease_id: '', renewable: false, lease_duration: 0, data: { keys: [...keys].sort() }, wrap_info: null, warnings: null, auth: null } };
    }
    if (kind === 'data' && method === 'GET' && !listing) {
      const versions = this.kv.get(`${mount}/${logical}`)?.versions ?? [];
      const latest = versions.at(-1);
      if (!latest) return { status: 404, body: { errors: [] } };
      const metadata = { created_time: latest.created, custom_metadata: null, deletion_time: latest.deleted, destroyed: false, version: versions.length };
      if (latest.deleted) return { status: 404, body: { request_id: 'standin', data: { data: null, metadata } } };
      return { status: 200, body: { request_id: 'standin', lease_id: '', renewable: false, lease_duration: 0, data: { data: latest.data, metadata }, wrap_info: null, warnings: null, auth: null } };
    }
    if (kind === 'data' && (method === 'POST' || method === 'PUT')) {
      const write = parse(req.body) as { data?: unknown; options?: { cas?: unknown } } | null;
      if (!write || typeof write.data !== 'object' || write.data === null) return { status: 400, body: { errors: ['no data provided'] } };
      const current = this.kv.get(`${mount}/${logical}`)?.versions.length ?? 0;
      if (write.options?.cas !== undefined && write.options.cas !== current) return { status: 400, body: { errors: ['check-and-set parameter did not match the current version'] } };
      const version = this.put(logical, write.data as Record<string, unknown>, mount);
      return { status: 200, body: { data: { created_time: new Date().toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version } } };
    }
    if (kind === 'data' && method === 'DELETE') {
      this.delete(logical, mount);
      return { status: 204 };
    }
    return { status: 405, body: { errors: ['unsupported operation'] } };
  }

  private tokenValid(token: string | null): boolean {
    if (token === null) return false;
    if (token === this.token) return true;
    const expires = this.issued.get(token);
    return expires !== undefined && expires > Date.now();
  }

  private namespaceValid(namespace: string | null): boolean {
    const wanted = this.options.namespace;
    if (!wanted) return true;
    return namespace !== null && trim(namespace) === trim(wanted);
  }
}

const trim = (path: string) => path.replace(/^\/+|\/+$/g, '');

/** One request from the front of `buffer`, with the bytes it took; 'incomplete' until it is all there. */
function parseRequest(buffer: Buffer): { request: Request; length: number } | 'incomplete' | 'bad' {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return buffer.length > 65_536 ? 'bad' : 'incomplete';
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const [method, target, version] = lines[0]!.split(' ');
  if (!method || !target || !version?.startsWith('HTTP/1.')) return 'bad';
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'bad';
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let offset = end + 4;
  let body: Buffer;
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd === -1) return 'incomplete';
      const size = Number.parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return 'bad';
      if (buffer.length < lineEnd + 2 + size + 2) return 'incomplete';
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
      if (size === 0) break;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(headers.get('content-length') ?? '0');
    if (!Number.isInteger(length) || length < 0) return 'bad';
    if (buffer.length < offset + length) return 'incomplete';
    body = buffer.subarray(offset, offset + length);
    offset += length;
  }
  return { request: { method, target, headers, body: body.toString('utf8') }, length: offset };
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
