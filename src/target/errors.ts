/** Errors of choosing a target; the CLI prints each as one line. */

export class TargetError extends Error {
  constructor(
    message: string,
    readonly target: string,
  ) {
    super(message);
    this.name = "TargetError";
  }
}
