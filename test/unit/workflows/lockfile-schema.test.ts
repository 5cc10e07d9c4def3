import { describe, it, expect } from 'vitest';
import {
  parseLockfile,
  checkLockfile,
  formatFieldPath,
  lockfileJsonSchema,
  LOCKFILE_DEFAULTS,
} from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE } from './fixtures.js';

type Doc = Record<string, any>;

/** A minimal valid document; each test breaks one thing in a copy. */
function minimal(): Doc {
  return {
    schemaVersion: 1,
    workflows: [{ name: 'ci', triggers: [{ _type: 'push' }], jobs: [{ name: 'build', steps: [{ run: 'make' }] }] }],
  };
}

function errorOf(document: unknown): string {
  const result = checkLockfile(document);
  if (result.ok) throw new Error('expected the document to be refused');
  return result.error;
}

function withJobs(jobs: unknown[]): Doc {
  const doc = minimal();
  doc.workflows[0].jobs = jobs;
  return doc;
}

const step = { run: 'true' };

describe('parseLockfile: the LOCKFILE.md example', () => {
  it('parses and fills the documented defaults', () => {
    const result = parseLockfile(LOCKFILE_EXAMPLE);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [workflow] = result.lockfile.workflows;
    expect(workflow.name).toBe('ci');
    expect(workflow.triggers.map((t) => t._type)).toEqual(['push', 'pr', 'tag']);
    const [build, test, deploy] = workflow.jobs;
    expect(build.timeout).toBe(LOCKFILE_DEFAULTS.jobTimeoutMs);
    expect(build.gracePeriod).toBe(30);
    expect(build.checkout).toBe(true);
    expect(build.needs).toEqual([]);
    expect(build.steps[0].shell).toBe('bash -eo pipefail');
    expect(build.steps[0].timeout).toBe(30 * 60 * 1000);
    expect(build.steps[0].continueOnError).toBe(false);
    expect(test.runsOn).toEqual(['os:linux', { regex: '^pool-' }]);
    expect(test.steps[0].name).toBeUndefined();
    expect(test.steps[0].retry).toEqual({ maxAttempts: 2, delayMs: 1000, backoff: 'exponential' });
    expect(deploy.needs).toEqual([{ name: 'test', runOn: ['success'] }]);
    expect(deploy.gracePeriod).toBe(20);
    expect(deploy.environments).toEqual(['production']);
  });

  it('fills concurrency defaults', () => {
    const doc = minimal();
    doc.workflows[0].concurrency = { group: 'ci' };
    const result = checkLockfile(doc);
    expect(result.ok && result.lockfile.workflows[0].concurrency).toEqual({ group: 'ci', cancelInProgress: true, max: 1 });
  });

  it('defaults missing triggers to none', () => {
    const doc = minimal();
    delete doc.workflows[0].triggers;
    const result = checkLockfile(doc);
    expect(result.ok && result.lockfile.workflows[0].triggers).toEqual([]);
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parseLockfile('\uFEFF' + JSON.stringify(minimal())).ok).toBe(true);
  });
});

describe('parseLockfile: file-level errors', () => {
  it('names invalid JSON without quoting the file', () => {
    const result = parseLockfile('{"schemaVersion": 1, "workflows": [ {"name": "TOP-SECRET-VALUE" ');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^not valid JSON: /);
    expect(result.error).not.toContain('TOP-SECRET-VALUE');
  });

  it('strips the quoted slice from an unexpected-token message', () => {
    const result = parseLockfile('{"env": "hunter2hunter2" x}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).not.toContain('hunter2');
  });

  it('refuses an unknown schemaVersion', () => {
    expect(errorOf({ ...minimal(), schemaVersion: 29 })).toBe('schemaVersion: unsupported version 29 (expected 1)');
  });

  it('reports a missing schemaVersion as required', () => {
    const doc = minimal();
    delete doc.schemaVersion;
    expect(errorOf(doc)).toBe('schemaVersion: required');
  });

  it('reports a non-numeric schemaVersion', () => {
    expect(errorOf({ ...minimal(), schemaVersion: '1' })).toBe('schemaVersion: expected 1');
  });

  it('refuses a document that is not an object', () => {
    expect(errorOf([])).toBe('(root): expected object');
  });

  it('needs at least one workflow', () => {
    expect(errorOf({ schemaVersion: 1, workflows: [] })).toBe('workflows: must have at least 1 item');
  });

  it('refuses an unknown top-level field', () => {
    expect(errorOf({ ...minimal(), contentHash: 'x' })).toBe('contentHash: unknown field');
  });
});

describe('parseLockfile: field paths', () => {
  it('names a missing step command', () => {
    const doc = withJobs([
      { name: 'a', steps: [step] },
      { name: 'b', steps: [step] },
      { name: 'c', steps: [{ name: 'x' }] },
    ]);
    expect(errorOf(doc)).toBe('workflows[0].jobs[2].steps[0].run: required');
  });

  it('names an unknown field on a step', () => {
    expect(errorOf(withJobs([{ name: 'a', steps: [{ run: 'x', uses: 'y' }] }]))).toBe(
      'workflows[0].jobs[0].steps[0].uses: unknown field',
    );
  });

  it('names an unknown field on a job', () => {
    expect(errorOf(withJobs([{ name: 'a', runs_on: ['x'], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].runs_on: unknown field',
    );
  });

  it('names a wrong type', () => {
    expect(errorOf(withJobs([{ name: 'a', steps: [{ run: 42 }] }]))).toBe(
      'workflows[0].jobs[0].steps[0].run: expected string',
    );
  });

  it('refuses an empty command', () => {
    expect(errorOf(withJobs([{ name: 'a', steps: [{ run: '' }] }]))).toBe(
      'workflows[0].jobs[0].steps[0].run: must not be empty',
    );
  });

  it('needs at least one job and one step', () => {
    expect(errorOf(withJobs([]))).toBe('workflows[0].jobs: must have at least 1 item');
    expect(errorOf(withJobs([{ name: 'a', steps: [] }]))).toBe('workflows[0].jobs[0].steps: must have at least 1 item');
  });

  it('refuses a bad job name', () => {
    expect(errorOf(withJobs([{ name: 'build it', steps: [step] }]))).toBe(
      'workflows[0].jobs[0].name: must match [A-Za-z0-9_.-]+',
    );
  });

  it('caps gracePeriod at 30 seconds and wants whole numbers', () => {
    expect(errorOf(withJobs([{ name: 'a', gracePeriod: 31, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].gracePeriod: must be <= 30',
    );
    expect(errorOf(withJobs([{ name: 'a', gracePeriod: 1.5, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].gracePeriod: expected integer',
    );
  });

  it('refuses a non-positive timeout', () => {
    expect(errorOf(withJobs([{ name: 'a', timeout: 0, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].timeout: must be > 0',
    );
  });

  it('names an unknown trigger type', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ _type: 'push' }, { _type: 'schedule', cronExpression: '* * * * *' }];
    expect(errorOf(doc)).toBe(
      'workflows[0].triggers[1]._type: unknown type (expected one of push, tag, pr, webhook, generic_webhook)',
    );
  });

  it('names a trigger without a type', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ branches: ['main'] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0]._type: required');
  });

  it('names an unknown field inside a trigger', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ _type: 'push', branch: ['main'] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0].branch: unknown field');
  });

  it('requires a source on generic_webhook triggers', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ _type: 'generic_webhook', events: ['deploy'] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0].source: required');
  });

  it('accepts glob and regex patterns and names a broken regex', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ _type: 'push', branches: ['main', { regex: '^rel/(\\d+$', flags: '' }] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0].branches[1].regex: invalid regular expression');
    doc.workflows[0].triggers = [{ _type: 'push', branches: [{ regex: '^rel', flags: 'gg' }] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0].branches[0].flags: invalid regular expression flags');
    doc.workflows[0].triggers = [{ _type: 'tag', patterns: ['v*', { regex: '^v\\d+', flags: 'i' }] }];
    expect(checkLockfile(doc).ok).toBe(true);
  });

  it('names an unknown field inside a regex pattern', () => {
    const doc = minimal();
    doc.workflows[0].triggers = [{ _type: 'push', branches: [{ regex: '^x', flag: 'i' }] }];
    expect(errorOf(doc)).toBe('workflows[0].triggers[0].branches[0].flag: unknown field');
  });

  it('names an unknown runOn status', () => {
    const doc = withJobs([
      { name: 'a', steps: [step] },
      { name: 'b', needs: [{ name: 'a', runOn: ['done'] }], steps: [step] },
    ]);
    expect(errorOf(doc)).toMatch(/^workflows\[0\]\.jobs\[1\]\.needs\[0\]\.runOn\[0\]: expected "success" or /);
  });

  it('refuses a bad environment variable name without echoing values', () => {
    const doc = withJobs([{ name: 'a', env: { 'MY VAR': 's3cr3t-value' }, steps: [step] }]);
    const error = errorOf(doc);
    expect(error).toBe('workflows[0].jobs[0].env["MY VAR"]: invalid environment variable name');
    expect(error).not.toContain('s3cr3t');
  });

  it('refuses a workingDirectory outside the checkout', () => {
    expect(errorOf(withJobs([{ name: 'a', steps: [{ run: 'x', workingDirectory: '../etc' }] }]))).toBe(
      'workflows[0].jobs[0].steps[0].workingDirectory: must stay inside the checkout (relative, no "..")',
    );
  });

  it('names the form a union value was meant to take', () => {
    expect(errorOf(withJobs([{ name: 'a', runsOn: ['x', { regex: 1 }], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].runsOn[1].regex: expected string',
    );
    expect(errorOf(withJobs([{ name: 'a', runsOn: [42], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].runsOn[0]: expected string or object',
    );
  });

  it('names an unknown field inside a needs object', () => {
    const doc = withJobs([
      { name: 'a', steps: [step] },
      { name: 'b', needs: [{ name: 'a', when: 'always' }], steps: [step] },
    ]);
    expect(errorOf(doc)).toBe('workflows[0].jobs[1].needs[0].when: unknown field');
  });

  it('refuses an unknown backoff', () => {
    const doc = withJobs([{ name: 'a', steps: [{ run: 'x', retry: { maxAttempts: 2, backoff: 'linear' } }] }]);
    expect(errorOf(doc)).toBe('workflows[0].jobs[0].steps[0].retry.backoff: expected "fixed" or "exponential"');
  });
});

describe('parseLockfile: cross-field rules', () => {
  it('refuses duplicate workflow names', () => {
    const doc = minimal();
    doc.workflows.push(structuredClone(doc.workflows[0]));
    expect(errorOf(doc)).toBe('workflows[1].name: duplicate workflow name "ci"');
  });

  it('refuses duplicate job names', () => {
    expect(errorOf(withJobs([{ name: 'a', steps: [step] }, { name: 'a', steps: [step] }]))).toBe(
      'workflows[0].jobs[1].name: duplicate job name "a"',
    );
  });

  it('refuses needs naming a job that does not exist', () => {
    expect(errorOf(withJobs([{ name: 'a', needs: ['biuld'], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].needs[0]: unknown job "biuld"',
    );
    expect(errorOf(withJobs([{ name: 'a', needs: [{ name: 'nope' }], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].needs[0].name: unknown job "nope"',
    );
  });

  it('refuses a job that needs itself', () => {
    expect(errorOf(withJobs([{ name: 'a', needs: ['a'], steps: [step] }]))).toBe(
      'workflows[0].jobs[0].needs[0]: a job cannot need itself',
    );
  });

  it('refuses a needs cycle and names it', () => {
    const doc = withJobs([
      { name: 'root', steps: [step] },
      { name: 'a', needs: ['root', 'c'], steps: [step] },
      { name: 'b', needs: ['a'], steps: [step] },
      { name: 'c', needs: [{ name: 'b', runOn: ['failed'] }], steps: [step] },
    ]);
    expect(errorOf(doc)).toBe('workflows[0].jobs[1].needs: needs cycle: a → c → b → a');
  });

  it('accepts a diamond (no cycle)', () => {
    const doc = withJobs([
      { name: 'a', steps: [step] },
      { name: 'b', needs: ['a'], steps: [step] },
      { name: 'c', needs: ['a'], steps: [step] },
      { name: 'd', needs: ['b', 'c'], steps: [step] },
    ]);
    expect(checkLockfile(doc).ok).toBe(true);
  });

  it('refuses a matrix with zero children', () => {
    expect(errorOf(withJobs([{ name: 't', matrix: { node: [] }, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].matrix: matrix expands to zero children',
    );
    expect(errorOf(withJobs([{ name: 't', matrix: {}, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].matrix: matrix expands to zero children',
    );
  });

  it('refuses a matrix over 256 children and accepts exactly 256', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => String(i));
    expect(errorOf(withJobs([{ name: 't', matrix: { a: values(16), b: values(17) }, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].matrix: matrix expands to 272 children (at most 256)',
    );
    expect(checkLockfile(withJobs([{ name: 't', matrix: { a: values(16), b: values(16) }, steps: [step] }])).ok).toBe(
      true,
    );
  });

  it('names a wrong matrix value type and an exclude on an unknown dimension', () => {
    expect(errorOf(withJobs([{ name: 't', matrix: { node: [20] }, steps: [step] }]))).toBe(
      'workflows[0].jobs[0].matrix.node[0]: expected string',
    );
    expect(
      errorOf(withJobs([{ name: 't', matrix: { node: ['20'], exclude: [{ nod: '20' }] }, steps: [step] }])),
    ).toBe('workflows[0].jobs[0].matrix.exclude[0].nod: unknown dimension');
  });

  it('reports a structural error before a cross-field one', () => {
    const doc = withJobs([
      { name: 'a', needs: ['missing'], steps: [step] },
      { name: 'b', steps: [{}] },
    ]);
    expect(errorOf(doc)).toBe('workflows[0].jobs[1].steps[0].run: required');
  });
});

describe('formatFieldPath', () => {
  it('brackets indices, dots keys and quotes odd keys', () => {
    expect(formatFieldPath(['workflows', 0, 'jobs', 2, 'env', 'A B'])).toBe('workflows[0].jobs[2].env["A B"]');
    expect(formatFieldPath([])).toBe('(root)');
  });
});

describe('lockfileJsonSchema', () => {
  const schema = lockfileJsonSchema() as Doc;

  it('describes the top level strictly', () => {
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['schemaVersion', 'workflows']);
    expect(schema.properties.schemaVersion.const).toBe(1);
  });

  it('marks defaulted fields optional and shows their defaults', () => {
    const job = schema.properties.workflows.items.properties.jobs.items;
    expect(job.required).toEqual(['name', 'steps']);
    expect(job.properties.gracePeriod).toMatchObject({ default: 30, maximum: 30 });
    const stepSchema = job.properties.steps.items;
    expect(stepSchema.required).toEqual(['run']);
    expect(stepSchema.properties.shell.default).toBe('bash -eo pipefail');
  });

  it('lists every trigger type', () => {
    const triggers = schema.properties.workflows.items.properties.triggers.items;
    const types = (triggers.oneOf ?? triggers.anyOf).map((t: Doc) => t.properties._type.const);
    expect(types).toEqual(['push', 'tag', 'pr', 'webhook', 'generic_webhook']);
  });

  it('shares the pattern and label matcher definitions', () => {
    expect(schema.$defs.KiciPattern.anyOf).toHaveLength(2);
    expect(schema.$defs.KiciLabelMatcher.anyOf).toHaveLength(2);
    const job = schema.properties.workflows.items.properties.jobs.items;
    expect(job.properties.runsOn.items.$ref).toBe('#/$defs/KiciLabelMatcher');
    expect(schema.title).toBe('kici lock file');
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
