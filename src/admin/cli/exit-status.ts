/**
 * An outcome the command has already printed in full, which only its exit code still has to tell
 * (a followed run that did not succeed): `runAdmin` returns the code and prints nothing more.
 */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
