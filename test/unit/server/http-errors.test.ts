/**
 * How the one HTTP listener answers a handler that throws: a service it needs being unreachable
 * (PostgreSQL restarting) is a 503 with Retry-After, worth asking again; anything else a 500 that
 * says nothing of the error.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router } from '../../../src/server/http/router.js';
import { createHttpServer } from '../../../src/server/http/server.js';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
let url: string;
const http = createHttpServer(pino({ level: 'silent' }));

beforeAll(async () => {
  const router = new Router()
    .on('GET', '/refused', async () => {
      throw refused;
    })
    .on('GET', '/terminated', async () => {
      throw new Error('Connection terminated unexpectedly');
    })
    .on('GET', '/bug', async () => {
      throw new TypeError('cannot read properties of undefined (secret-ish detail)');
    });
  http.serve(router, new Map(), '');
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => http.server.close(resolve));
});

describe('errors a handler throws', () => {
  it('an unreachable database is a 503 with Retry-After', async () => {
    for (const path of ['/refused', '/terminated']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    }
  });

  it('anything else is a 500 that names nothing of the error', async () => {
    const res = await fetch(`${url}/bug`);
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('secret-ish');
  });
});
