/**
 * Steps are numbered from 1 wherever a person reads them, as their default names are (`step-1` is
 * #1). The wire and the store keep KiCI's 0-based `stepIndex`; this is where one becomes the other.
 */
export function stepNumber(stepIndex: number): number {
  return stepIndex + 1;
}

/** `[job #N name]`: what a step's log line is prefixed with by `kici-admin runs logs` and the demo. */
export function logLinePrefix(line: { job: string; step: number; stepName?: string }): string {
  return `[${line.job} #${stepNumber(line.step)}${line.stepName ? ` ${line.stepName}` : ''}]`;
}
