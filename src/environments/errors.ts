/** The refusals of the environments room; every store kind throws the same ones, the admin API maps them to HTTP. */

/** An environment that breaks a rule (a glob environment with no pattern, a negative timer, …). */
export class InvalidEnvironmentError extends Error {
  constructor(
    /** The field at fault, in the API's spelling (`globPattern`, `waitTimerSeconds`, …). */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidEnvironmentError';
  }
}

export class EnvironmentNameTakenError extends Error {
  constructor(
    readonly orgId: string,
    readonly environmentName: string,
  ) {
    super(`an environment named ${environmentName} already exists in ${orgId}`);
    this.name = 'EnvironmentNameTakenError';
  }
}

/**
 * Deleting an environment while jobs wait on it would leave their holds pointing nowhere, so a
 * reviewer could no longer find them; the operator decides them (or lets them expire) first.
 */
export class EnvironmentDeleteBlockedError extends Error {
  constructor(
    readonly environmentName: string,
    readonly pendingHolds: number,
  ) {
    super(
      `environment ${environmentName} has ${pendingHolds} pending held run${pendingHolds === 1 ? '' : 's'}; ` +
        'approve or reject them (or let them expire) before deleting it',
    );
    this.name = 'EnvironmentDeleteBlockedError';
  }
}
