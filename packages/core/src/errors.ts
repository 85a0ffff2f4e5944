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

/**
 * Training diverged: the loss or the weights stopped being finite. Not the user's input exactly,
 * nor an internal failure: the CLI exits with its own code (3), and nothing of the level is
 * stored as complete.
 */
export class DivergedError extends Error {
  readonly exitCode = 3;
  constructor(
    readonly iteration: number,
    readonly what: string,
    readonly level?: number,
  ) {
    super(
      `training diverged at iteration ${iteration}${level === undefined ? '' : ` of level ${level}`} (${what}): ` +
        'lower the learning rate or add warmup ("training": { "warmup": { "use": "linear", "iterations": 500 } })',
    );
    this.name = 'DivergedError';
  }

  /** The same divergence, said of a level. */
  atLevel(level: number): DivergedError {
    return new DivergedError(this.iteration, this.what, level);
  }
}
