/**
 * The journal's writing side: the shell a workload's step runs so that every execution of a step,
 * on whichever agent, leaves its trace in one file shared by all the agents of a test (they run on
 * one host, so one file and one clock).
 *
 * Each execution appends two lines with the same `execution` id: `start` before the step's work and
 * `end` after it (also when the step is stopped by SIGTERM/SIGINT/SIGHUP, with exit 128+signal).
 * Two lines rather than one written at the end, because an execution killed with SIGKILL (agent
 * crash) leaves only its `start`: that is exactly the execution a duplicate-attempt check must
 * still see. A pair gives an interval, so "two agents ran the job at the same time" is an overlap.
 *
 * Each line goes out as one `printf '%s\n' "$line" >> file`: one write(2) of well under 4 KiB on a
 * file opened O_APPEND, which Linux does not interleave with another writer's.
 *
 * What the step knows about itself (src/agent/step-environment.ts): KICI_RUN_ID, KICI_JOB_ID,
 * KICI_JOB_NAME, KICI_ATTEMPT (the run's attempt: one more per rerun) and KICI_JOB_AGENT (the
 * agent's id; agents older than it leave the agent to the `agent-id` file in its work dir, or to
 * the reader's map of work dirs to names, journal-reader.ts). The step's file name in KICI_OUTPUT,
 * `step-<i>-attempt-<n>.out`, gives the step's index and its retry number (`retry.maxAttempts`),
 * which is a second execution of one step, not a duplicate. The agent's work dir is everything
 * before the last `/jobs/` of KICI_OUTPUT.
 *
 * Needs bash 5 (`EPOCHREALTIME`, `printf -v`: the agent runs steps with bash) and an unsandboxed
 * agent (`--sandbox none`): under bubblewrap the host is read-only and /tmp private, so the append
 * fails and the step fails loudly. Builtins only, no `date` or `sed`: a chaos workload runs many
 * steps at once on a small machine, and a dozen processes per line would be load of its own.
 */

/** The version of the line format; the reader refuses any other. */
export const JOURNAL_FORMAT = 1;

/**
 * The `run:` of a workload step: `work` (any shell, run with `set -e` in a subshell) between a
 * `start` and an `end` line appended to `journalPath`. The step exits with the work's exit code.
 */
export function journalStep(journalPath: string, work = 'true'): string {
  const file = shellQuote(journalPath);
  return [
    '# chaos journal (chaos/journal.ts): a start and an end line per execution of this step',
    // JSON-escape $2 into the variable named $1; builtins only, so a line costs no process.
    'kici_chaos_json() { local q=\'"\' b=\'\\\'; local v="${2//"$b"/"$b$b"}"; printf -v "$1" \'%s\' "${v//"$q"/"$b$q"}"; }',
    'kici_chaos_dir="${KICI_OUTPUT%/jobs/*}"',
    'kici_chaos_agent="${KICI_JOB_AGENT:-}"',
    'if [ -z "$kici_chaos_agent" ] && [ -f "$kici_chaos_dir/agent-id" ]; then read -r kici_chaos_agent < "$kici_chaos_dir/agent-id" || true; fi',
    'kici_chaos_execution="$$-${EPOCHREALTIME/[.,]/}"',
    'kici_chaos_json kici_chaos_run "$KICI_RUN_ID"; kici_chaos_json kici_chaos_job "$KICI_JOB_ID"',
    'kici_chaos_json kici_chaos_name "$KICI_JOB_NAME"; kici_chaos_json kici_chaos_who "$kici_chaos_agent"',
    'kici_chaos_json kici_chaos_where "$kici_chaos_dir"; kici_chaos_json kici_chaos_file "${KICI_OUTPUT##*/}"',
    'kici_chaos_note() {',
    '  printf -v kici_chaos_line \'{"v":' + JOURNAL_FORMAT + ',"event":"%s","execution":"%s","run":"%s","job":"%s","jobName":"%s","attempt":%s,"agent":"%s","agentDir":"%s","stepFile":"%s","at":%s%s}\' \\',
    '    "$1" "$kici_chaos_execution" "$kici_chaos_run" "$kici_chaos_job" "$kici_chaos_name" "$KICI_ATTEMPT" \\',
    '    "$kici_chaos_who" "$kici_chaos_where" "$kici_chaos_file" "${EPOCHREALTIME/[.,]/}" "$2"',
    `  printf '%s\\n' "$kici_chaos_line" >> ${file} || { echo "chaos journal: cannot append to "${file} >&2; return 1; }`,
    '}',
    'kici_chaos_stopped() { trap - TERM INT HUP; kici_chaos_note end ",\\"exit\\":$1"; exit "$1"; }',
    'kici_chaos_note start',
    "trap 'kici_chaos_stopped 143' TERM",
    "trap 'kici_chaos_stopped 130' INT",
    "trap 'kici_chaos_stopped 129' HUP",
    'set +e',
    '(',
    'set -e',
    work,
    ')',
    'kici_chaos_exit=$?',
    'set -e',
    'trap - TERM INT HUP',
    'kici_chaos_note end ",\\"exit\\":$kici_chaos_exit"',
    'exit "$kici_chaos_exit"',
  ].join('\n');
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
