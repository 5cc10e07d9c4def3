/**
 * The argv that runs a step's script. The default is `bash -eo pipefail -c <run>`. A custom shell
 * string is split into words; `{0}` in it stands for the script file, a trailing `-c` takes the
 * script text itself, and otherwise the script file is passed as the last argument.
 */
export function shellArgv(shell: string | undefined, run: string, scriptFile: () => string): string[] {
  if (shell === undefined || shell.trim() === '') return ['bash', '-eo', 'pipefail', '-c', run];
  const words = shell.trim().split(/\s+/);
  if (words.some((w) => w.includes('{0}'))) {
    const file = scriptFile();
    return words.map((w) => w.replaceAll('{0}', file));
  }
  if (words[words.length - 1] === '-c') return [...words, run];
  return [...words, scriptFile()];
}
