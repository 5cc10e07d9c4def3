import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type GitSource, type LogLine } from '../harness/index.js';

/**
 * The issue this closes: a step could read the agent's token with `cat /proc/$PPID/environ`. Two
 * real agents take jobs from a real orchestrator, both with the token in their environment as
 * operators are told to pass it: one sandboxed, one with `--sandbox none` running the same
 * snooping step, which shows the snooping finds what the sandbox must hide.
 */
let inst: Installation;
let source: GitSource;
const agents: Record<'boxed' | 'bare', { pid: number; token: string; workDir: string; sibling: string }> = {} as never;
const PROBE = `kici-write-probe-${randomBytes(6).toString('hex')}`;
const savedTmpdir = process.env.TMPDIR;

beforeAll(async () => {
  // The installation (data dir, agents' work dirs) goes under /var/tmp, not /tmp: a sandboxed
  // step's /tmp is its own, which would hide all of it whether or not the hiding under test works.
  process.env.TMPDIR = '/var/tmp';
  inst = await Installation.create();
  for (const [name, mode] of [['boxed', 'bwrap'], ['bare', 'none']] as const) {
    const token = await inst.orchestrator.createAgentToken(name);
    const proc = await inst.startAgent({ name, token, labels: [name], extraEnv: { KICI_AGENT_SANDBOX: mode } });
    const workDir = path.join(inst.dir, name);
    // Another job's checkout, as a concurrent job on the same agent would have it.
    const sibling = path.join(workDir, 'jobs', 'other-job-4242', 'checkout');
    mkdirSync(sibling, { recursive: true });
    writeFileSync(path.join(sibling, 'secret.txt'), `other-job-secret-${name}\n`);
    agents[name] = { pid: proc.pid, token, workDir, sibling };
  }
  source = await inst.gitSource();
});

afterAll(async () => {
  process.env.TMPDIR = savedTmpdir;
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  const touched = ['/etc', '/usr/local', process.env.HOME, inst?.dir, agents.boxed?.workDir];
  for (const dir of touched.filter(Boolean) as string[]) rmSync(path.join(dir, PROBE), { force: true });
  await inst?.close();
});

const SNOOP = [
  'set +e',
  'echo "pids: $(cd /proc && echo [0-9]*)"',
  'echo "jobs: $(ls "$WORK_DIR/jobs" 2>&1 | tr "\\n" " ")"',
  // Every environment and command line in sight, kept to the lines a token or a kici setting is on.
  'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\\0" "\\n" < "$f"; echo; done 2>/dev/null | grep -a -E "KICI|kat_" | sed "s/^/proc: /"',
  'tr "\\0" "\\n" < /proc/$PPID/environ 2>/dev/null | grep -a KICI_AGENT_TOKEN | sed "s/^/parent: /"',
  'for p in "$WORK_DIR/agent-id" "$SIBLING/secret.txt"; do',
  '  if c=$(cat "$p" 2>/dev/null); then echo "readable: $p: $c"; else echo "unreadable: $p"; fi',
  'done',
  'grep -rIas -e kat_ -e other-job-secret "$WORK_DIR" | sed "s/^/found: /"',
  'if kill -0 "$AGENT_PID" 2>/dev/null; then echo "signalable: $AGENT_PID"; else echo "unreachable: $AGENT_PID"; fi',
  'if [ -n "$WRITE_PROBES" ]; then',
  '  for d in /etc /usr/local "$WORK_DIR" "$INSTALL_DIR" "$HOME"; do',
  '    if echo x > "$d/$PROBE" 2>/dev/null; then echo "wrote: $d"; else echo "refused: $d"; fi',
  '  done',
  'fi',
  'echo "snoop-done-$KICI_JOB_NAME"',
].join('\n');

function job(name: 'boxed' | 'bare'): unknown {
  const a = agents[name];
  const env: Record<string, string> = { AGENT_PID: String(a.pid), WORK_DIR: a.workDir, SIBLING: a.sibling, INSTALL_DIR: inst.dir, PROBE };
  if (name === 'boxed') env.WRITE_PROBES = '1';
  return { name, runsOn: [name], env, steps: [{ name: 'snoop', run: SNOOP }] };
}

const textOf = (lines: LogLine[], jobName: string): string =>
  lines
    .filter((l) => l.job === jobName)
    .map((l) => l.text)
    .join('\n');

describe('a step run by a sandboxed agent, end to end', () => {
  it('cannot find the agent token, see another job, signal the agent or write outside its own places', async () => {
    const sha = source.repo.commitLockfile({
      schemaVersion: 1,
      workflows: [{ name: 'snoop', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [job('boxed'), job('bare')] }],
    });
    source.repo.push('main');
    const run = await inst.waitForTerminal((await inst.runForPush(source, sha)).id);
    expect(run.status, JSON.stringify(run.jobs)).toBe('success');
    const lines = await inst.logsContaining(run.id, ['snoop-done-boxed', 'snoop-done-bare']);
    const boxed = textOf(lines, 'boxed');
    const bare = textOf(lines, 'bare');

    // The unsandboxed agent's step finds its agent's token and everything else: the snooping works.
    expect(bare).toContain(`parent: KICI_AGENT_TOKEN=${agents.bare.token}`);
    expect(bare).toContain(`signalable: ${agents.bare.pid}`);
    expect(bare).toContain('other-job-secret-bare');

    // The sandboxed one finds none of it.
    expect(boxed).toContain('proc: KICI_JOB_NAME=boxed');
    expect(boxed).not.toContain(agents.boxed.token);
    expect(boxed).not.toContain(agents.bare.token);
    // (The step's own script holds the words it greps for, so the whole secret is looked for.)
    expect(boxed).not.toContain('other-job-secret-boxed');
    expect(boxed).toContain(`unreadable: ${path.join(agents.boxed.workDir, 'agent-id')}`);
    expect(boxed).toContain(`unreadable: ${path.join(agents.boxed.sibling, 'secret.txt')}`);
    expect(boxed).toMatch(/^jobs: [^ ]+ $/m);
    expect(boxed).not.toMatch(/^jobs: .*other-job/m);
    expect(boxed).toContain(`unreachable: ${agents.boxed.pid}`);
    const pids = /^pids: (.*)$/m.exec(boxed)?.[1]?.split(' ').map(Number) ?? [];
    expect(pids.length).toBeGreaterThan(0);
    expect(pids).not.toContain(agents.boxed.pid);

    for (const dir of ['/etc', '/usr/local', agents.boxed.workDir, inst.dir]) {
      expect(boxed).toContain(`refused: ${dir}`);
      expect(existsSync(path.join(dir, PROBE)), dir).toBe(false);
    }
    // HOME is writable, and the job's own: nothing lands in the agent's HOME.
    const home = process.env.HOME as string;
    expect(boxed).toContain(`wrote: ${home}`);
    expect(existsSync(path.join(home, PROBE))).toBe(false);
  });
});
