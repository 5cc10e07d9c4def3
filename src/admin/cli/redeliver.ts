import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FLUSH_FLAG, installedHook, SPOOL_DIR, spooledDeliveries, type SpooledDelivery } from '../../webhooks/index.js';
import { ExitStatus } from './exit-status.js';
import { printJson } from './output.js';
import { UsageError } from './secret-input.js';

export interface RedeliverResult {
  sourceId: string;
  spool: string;
  sent: SpooledDelivery[];
  remaining: SpooledDelivery[];
}

/**
 * `source redeliver <id> --repo PATH`: sends the pushes the repository's hook kept while kici
 * was unreachable by running that hook with --flush. The hook already holds the URL and the
 * secret, so signing and sending stay in one place and the secret never passes through here.
 * Exit 0 when the spool is empty afterwards, 1 when something is still kept.
 */
export async function redeliverSpool(sourceId: string, repoPath: string, json: boolean): Promise<void> {
  const hook = await installedHook(repoPath).catch((e: Error) => {
    throw new UsageError(e.message);
  });
  if (!hook) throw new UsageError(`${repoPath} has no kici post-receive hook: run source install-hook first`);
  if (hook.sourceId !== sourceId) throw new UsageError(`the hook in ${repoPath} reports to source ${hook.sourceId ?? '(unknown)'}, not ${sourceId}`);
  if (!hook.spools) throw new UsageError(`the hook in ${repoPath} predates the spool and keeps nothing: run source install-hook again`);

  const before = await spooledDeliveries(hook.gitDir);
  // With --json, stdout carries only the JSON; the hook's lines go to stderr.
  await runFlush(hook.path, hook.gitDir, json ? process.stderr : process.stdout);
  const remaining = await spooledDeliveries(hook.gitDir);
  const left = new Set(remaining.map((d) => d.file));
  const result: RedeliverResult = { sourceId, spool: join(hook.gitDir, SPOOL_DIR), sent: before.filter((d) => !left.has(d.file)), remaining };
  if (json) printJson(result);
  else if (remaining.length === 0) process.stdout.write(`redeliver: ${result.sent.length} sent, nothing left in ${result.spool}\n`);
  else process.stdout.write(`redeliver: ${result.sent.length} sent, ${remaining.length} still kept in ${result.spool}\n`);
  if (remaining.length > 0) throw new ExitStatus(1);
}

/** Runs the hook as git would (cwd: the git directory), passing its output on as it comes. */
function runFlush(hookPath: string, cwd: string, out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(hookPath, [FLUSH_FLAG], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => out.write(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk.toString('utf8')));
    child.on('error', reject);
    // The exit code is not trusted for the verdict: the spool is read again afterwards.
    child.on('close', () => resolve());
  });
}
