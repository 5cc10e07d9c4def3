/**
 * An HTTP proxy in front of an S3 server that can refuse the next N requests (those matching a
 * method, if named) with a status and an S3 error body, to test retries, start-time refusals and
 * writes that are given up on. Everything else passes through untouched.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RefusingProxy {
  endpoint: string;
  /** Answer the next `count` requests (of `method`, when given) with `status` and S3 error `code`. */
  refuseNext(count: number, status: number, code: string, method?: string): void;
  /** Requests that reached the proxy, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

export async function startRefusingProxy(target: string): Promise<RefusingProxy> {
  const upstream = new URL(target);
  const refusals: { count: number; status: number; code: string; method?: string }[] = [];
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const refusal = refusals.find((r) => r.count > 0 && (!r.method || r.method === req.method));
    if (refusal) {
      refusal.count--;
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${refusal.code}</Code><Message>refused by the test proxy</Message></Error>`;
      res.writeHead(refusal.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    refuseNext(count, status, code, method) {
      refusals.push({ count, status, code, method });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
