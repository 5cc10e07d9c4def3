import { readFileSync } from 'node:fs';

/**
 * Secret inputs accept the four modes of seed 002: a value, `@path` (read the file), `--from-env VAR`,
 * or `--stdin`. The value is never printed back.
 */
export interface SecretSources {
  value?: string;
  fromEnv?: string;
  stdin?: boolean;
}

export class UsageError extends Error {}

export async function resolveSecret(src: SecretSources, what: string): Promise<string | undefined> {
  const given = [src.value !== undefined, src.fromEnv !== undefined, src.stdin === true].filter(Boolean).length;
  if (given > 1) throw new UsageError(`give ${what} once: a value, @file, --from-env or --stdin`);
  if (src.fromEnv !== undefined) {
    const v = process.env[src.fromEnv];
    if (!v) throw new UsageError(`--from-env ${src.fromEnv}: that environment variable is empty or unset`);
    return v;
  }
  if (src.stdin) return (await readStdin()).replace(/\r?\n$/, '');
  if (src.value === undefined) return undefined;
  if (src.value.startsWith('@')) {
    const file = src.value.slice(1);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new UsageError(`cannot read ${what} from ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return src.value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
