import { vi } from 'vitest';
import { runAdmin } from '../../../src/admin/index.js';

/**
 * Run kici-admin against an address nothing listens on, capturing stderr and every request it
 * tried: arguments the CLI must refuse are refused before anything is sent.
 */
export async function runAdminOffline(argv: string[]): Promise<{ code: number; err: string; sent: string[] }> {
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  const fetchSpy = vi.spyOn(globalThis, 'fetch');
  const code = await runAdmin(['--url', 'http://127.0.0.1:9', '--token', 'admin-token-for-tests', ...argv]);
  const sent = fetchSpy.mock.calls.map(([url, init]) => `${init?.method} ${String(url)}`);
  vi.restoreAllMocks();
  return { code, err, sent };
}

