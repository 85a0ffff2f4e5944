/**
 * An error caused by the user's input (config, data files, arguments). The CLI exits with 2 and
 * prints the message alone; every other error is an internal failure (exit 1).
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** The JSON path (or CLI argument) at fault, e.g. `/pruning/masker/overrides/output`. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
