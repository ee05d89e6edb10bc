/**
 * How long a candidate's measuring run may take before it is a `timeout`. A fixed limit
 * either kills the unscheduled program at real sizes on a loaded machine (one call of the
 * paper-size MLP takes seconds, and the harness makes several) or lets a hanging candidate
 * at small sizes waste a minute. So the limit follows the unscheduled program's own run
 * time: a candidate may be `ALLOWED_SLOWDOWN` times slower than it on every call the
 * harness makes, and never gets less than `MIN_RUN_TIMEOUT_MS`.
 */
export const MIN_RUN_TIMEOUT_MS = 60_000;
export const ALLOWED_SLOWDOWN = 4;
/** The harness's own minimum of timed repetitions (src/codegen/harness.ts `min_reps`). */
const HARNESS_MIN_REPS = 3;

export interface RunShape {
  /** Untimed calls before the timed ones. */
  readonly warmup: number;
  /** Minimum measuring time, after warm-up. */
  readonly minMs: number;
}

/**
 * `referenceRunMs`: the wall time of the reference run (one call of the unscheduled program,
 * with process start and input generation), when known.
 */
export function candidateRunTimeoutMs(referenceRunMs: number | undefined, run: RunShape): number {
  if (referenceRunMs === undefined) return MIN_RUN_TIMEOUT_MS;
  const calls = 1 + run.warmup + HARNESS_MIN_REPS;
  return Math.max(
    MIN_RUN_TIMEOUT_MS,
    Math.ceil(ALLOWED_SLOWDOWN * referenceRunMs * calls + run.minMs),
  );
}
