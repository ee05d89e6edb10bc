/**
 * Failures of building or running a candidate, classified so a search can go on.
 * `codegen-error`: COLT could not write the candidate's C at all (a COLT bug).
 */
export type FailureClass =
  | "codegen-error"
  | "compile-error"
  | "crash"
  | "timeout"
  | "out-of-memory"
  | "wrong-result"
  | "bad-output";

export class CompilerNotFoundError extends Error {
  constructor(
    readonly compiler: string,
    /** Debian package of a target's cross compiler. */
    readonly crossPackage?: string,
  ) {
    super(
      crossPackage
        ? `no cross compiler found ('${compiler}' did not run): install it (Debian: apt-get install ${crossPackage})`
        : `no C compiler found ('${compiler}' did not run): install one (Debian: apt-get install gcc) or point CC at it`,
    );
    this.name = "CompilerNotFoundError";
  }
}

export class CandidateError extends Error {
  constructor(
    readonly failure: FailureClass,
    readonly detail: string,
    /** What was being built or run, e.g. a workload name or binary path. */
    readonly subject: string,
  ) {
    super(`${subject}: ${failure}: ${detail}`);
    this.name = "CandidateError";
  }
}

/** A system tool COLT runs candidates through (prlimit, taskset) is not installed. */
export class ToolNotFoundError extends Error {
  constructor(
    readonly tool: string,
    readonly packageName: string,
  ) {
    super(
      `'${tool}' was not found: COLT runs candidates through it; install ${packageName} (Debian: apt-get install ${packageName})`,
    );
    this.name = "ToolNotFoundError";
  }
}

/** A measurement not started (or not kept) because the run was told to stop. */
export class MeasurementAbandonedError extends Error {
  constructor(
    /** What was to be measured, e.g. "matmul candidate". */
    readonly subject: string,
  ) {
    super(`${subject}: measurement abandoned, the run is stopping`);
    this.name = "MeasurementAbandonedError";
  }
}
