/** Shared lock files for the workflows tests; the example is LOCKFILE.md's, verbatim. */
import { parseLockfile, type Lockfile, type Workflow } from '../../../src/workflows/index.js';

export const LOCKFILE_EXAMPLE = String.raw`{
  "schemaVersion": 1,
  "workflows": [
    {
      "name": "ci",
      "triggers": [
        { "_type": "push", "branches": ["main", "release/*"], "paths": ["src/**", "!**/*.md"] },
        { "_type": "pr", "events": ["opened", "synchronize"], "targetBranches": ["main"] },
        { "_type": "tag", "patterns": ["v*"] }
      ],
      "timeout": 3600000,
      "jobs": [
        {
          "name": "build",
          "runsOn": ["os:linux"],
          "env": { "NODE_ENV": "test" },
          "steps": [
            { "name": "compile", "run": "make build && echo version=$(cat VERSION) >> \"$KICI_OUTPUT\"" }
          ]
        },
        {
          "name": "test",
          "needs": ["build"],
          "runsOn": ["os:linux", { "regex": "^pool-" }],
          "matrix": { "node": ["20", "22"], "shard": ["1", "2"], "exclude": [{ "node": "20", "shard": "2" }] },
          "steps": [
            { "run": "echo node=$KICI_MATRIX_NODE shard=$KICI_MATRIX_SHARD of $KICI_NEEDS_BUILD_VERSION",
              "timeout": 600000, "retry": { "maxAttempts": 2, "delayMs": 1000, "backoff": "exponential" } }
          ]
        },
        {
          "name": "deploy",
          "needs": [{ "name": "test", "runOn": ["success"] }],
          "environments": ["production"],
          "concurrencyGroup": "deploy-prod",
          "gracePeriod": 20,
          "steps": [{ "name": "ship", "run": "./deploy.sh", "continueOnError": false }]
        }
      ]
    }
  ]
}`;

/** Parses a document that must be valid; fails the test with the schema's own message otherwise. */
export function lockfileOf(document: unknown): Lockfile {
  const result = parseLockfile(JSON.stringify(document));
  if (!result.ok) throw new Error(`fixture does not parse: ${result.error}`);
  return result.lockfile;
}

/** One workflow with the given triggers and a single trivial job. */
export function workflowWith(triggers: unknown[], name = 'ci'): Workflow {
  return lockfileOf({
    schemaVersion: 1,
    workflows: [{ name, triggers, jobs: [{ name: 'build', steps: [{ run: 'true' }] }] }],
  }).workflows[0];
}

/** One workflow with the given jobs and no triggers. */
export function workflowOfJobs(jobs: unknown[]): Workflow {
  return lockfileOf({ schemaVersion: 1, workflows: [{ name: 'ci', jobs }] }).workflows[0];
}
