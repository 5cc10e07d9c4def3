/**
 * The ways the admin token repository refuses a change; nothing was written when one is thrown.
 * The admin API answers each in HTTP (src/admin/api/refusals.ts).
 */

export class InvalidAdminTokenNameError extends Error {
  constructor(
    readonly tokenName: string,
    problem: string,
  ) {
    super(`name: ${problem}`);
    this.name = 'InvalidAdminTokenNameError';
  }
}

export class AdminTokenNameTakenError extends Error {
  constructor(readonly tokenName: string) {
    super(`a live admin token is named ${tokenName} already: revoke it first, or choose another name`);
    this.name = 'AdminTokenNameTakenError';
  }
}

/** `ref` named no token: no such id, and no live token of that name. */
export class UnknownAdminTokenError extends Error {
  constructor(readonly ref: string) {
    super(`no admin token ${ref} (an id, or the name of a live token)`);
    this.name = 'UnknownAdminTokenError';
  }
}

export class AdminTokenRevokedError extends Error {
  constructor(
    readonly id: string,
    readonly tokenName: string,
  ) {
    super(`admin token ${id} (${tokenName}) is revoked already`);
    this.name = 'AdminTokenRevokedError';
  }
}

/**
 * Revoking the last live token would shut every operator out of the admin API (only a restart,
 * which issues a new one into the data directory, would let anyone back in), so it is refused.
 */
export class LastAdminTokenError extends Error {
  constructor(
    readonly id: string,
    readonly tokenName: string,
  ) {
    super(`admin token ${id} (${tokenName}) is the last live admin token: create another admin token before revoking it`);
    this.name = 'LastAdminTokenError';
  }
}
