import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkLockfile,
  lockfileJsonSchema,
  parseLockfile,
  planRun,
  STEP_METADATA_VARIABLES,
  TRIGGER_TYPES,
  unsupportedFields,
} from '../../../src/workflows/index.js';
import { TERMINAL_JOB_STATUSES } from '../../../src/vocabulary/index.js';

/**
 * docs/lockfile.md is what users read instead of the schema: it must keep up with it. A field the
 * schema gains, a trigger type, a step variable or a refusal message it does not mention fails here.
 */
const doc = readFileSync(new URL('../../../docs/lockfile.md', import.meta.url), 'utf8');
const mentioned = (name: string) => doc.includes(`\`${name}\``);

/** Every property name the JSON Schema defines, at any depth (lock file, workflow, trigger, job, step, …). */
function schemaFields(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => schemaFields(n, into));
  else if (node !== null && typeof node === 'object') {
    const properties = (node as { properties?: unknown }).properties;
    if (properties !== null && typeof properties === 'object') for (const key of Object.keys(properties)) into.add(key);
    for (const value of Object.values(node)) schemaFields(value, into);
  }
  return into;
}

describe('docs/lockfile.md', () => {
  it('mentions every field the lock file schema defines', () => {
    const fields = [...schemaFields(lockfileJsonSchema())];
    expect(fields).toEqual(expect.arrayContaining(['schemaVersion', 'workflows', 'triggers', 'runsOn', 'steps', 'run', 'retry']));
    expect(fields.filter((f) => !mentioned(f))).toEqual([]);
  });

  it('mentions every trigger type, every terminal job status a needs entry can name, and every step variable', () => {
    const names = [...TRIGGER_TYPES, ...TERMINAL_JOB_STATUSES, ...STEP_METADATA_VARIABLES];
    expect(names.filter((n) => !mentioned(n))).toEqual([]);
  });

  it('quotes the refusals of unsupported fields exactly as a run reports them', () => {
    const lockfile = checkLockfile({
      schemaVersion: 1,
      workflows: [
        { name: 'secret', jobs: [{ name: 'a', steps: [{ run: 'x' }] }, { name: 'b', steps: [{ run: 'x', secrets: ['TOKEN'] }] }] },
      ],
    });
    if (!lockfile.ok) throw new Error(lockfile.error);
    for (const workflow of lockfile.lockfile.workflows) {
      const refusal = unsupportedFields(workflow, 0);
      expect(refusal, workflow.name).not.toBeNull();
      expect(doc, workflow.name).toContain(`\`${refusal}\``);
    }
  });

  it('has an example that passes the check and expands to the jobs the text names', () => {
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const parsed = parseLockfile(example!);
    if (!parsed.ok) throw new Error(`the example fails its own check: ${parsed.error}`);
    const workflow = parsed.lockfile.workflows[0];
    expect(unsupportedFields(workflow, 0)).toBeNull();
    const jobs = planRun(workflow).jobs.map((j) => j.name);
    expect(jobs).toEqual(['build', 'test (20, 1)', 'test (22, 1)', 'test (22, 2)', 'report']);
    for (const name of jobs) expect(doc).toContain(`\`${name}\``);
  });
});
