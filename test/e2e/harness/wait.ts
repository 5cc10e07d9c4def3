/** Poll until `probe` gives a value other than undefined; the timeout names what was awaited and the last thing seen. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) break;
    await sleep(opts.intervalMs ?? 150);
  }
  let seen = '';
  if (opts.describe) {
    try {
      seen = `; last seen: ${await opts.describe()}`;
    } catch (e) {
      seen = `; could not describe the state: ${(e as Error).message}`;
    }
  }
  const why = lastError ? `; last error: ${(lastError as Error).message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${seen}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
