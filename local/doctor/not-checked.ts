// Layer flow: doctor's targets and sources -> this error -> the runner (doctor-check.ts) turns it into a
// "not checked" warning with its fix. A module of its own, so that the targets need not import the runner.

/** Raised by a check's helpers when what it reads is not there; the runner turns it into notChecked. */
export class NotCheckedError extends Error {
  override readonly name = 'NotCheckedError';
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}
