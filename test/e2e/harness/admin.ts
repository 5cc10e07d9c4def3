import { execFile } from 'node:child_process';
import { binPath } from './build.js';
import { baseEnv } from './process.js';

export interface AdminResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `kici-admin --url U --token T …args` as a process; never throws on a non-zero exit. */
export function kiciAdmin(url: string, token: string, args: string[]): Promise<AdminResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [binPath('kici-admin'), '--url', url, '--token', token, ...args],
      { env: baseEnv({}), maxBuffer: 32 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `kici-admin --json …` parsed; throws with stderr when the command failed. */
export async function kiciAdminJson<T>(url: string, token: string, args: string[]): Promise<T> {
  const r = await kiciAdmin(url, token, ['--json', ...args]);
  if (r.code !== 0) throw new Error(`kici-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
