/** ONNX Runtime's output against COLT's reference: both must compute the same thing. */
import { DEFAULT_TOLERANCE, relativeL2Error } from "../measure/verify.ts";

export class OrtMismatchError extends Error {
  constructor(
    readonly workload: string,
    readonly error: number,
    readonly maxDifference: number,
    readonly tolerance: number,
  ) {
    super(
      `ONNX Runtime's output of ${workload} differs from COLT's reference (max absolute difference ` +
        `${maxDifference.toExponential(2)}, relative L2 error ${error.toExponential(2)} > ${tolerance}); ` +
        "the two do not compute the same thing, so no time is reported",
    );
    this.name = "OrtMismatchError";
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    max = Math.max(max, Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]));
  }
  return max;
}

/** The relative L2 error (the measure COLT's verification uses), or an OrtMismatchError. */
export function checkOrtOutput(
  workload: string,
  output: Float32Array,
  reference: Float32Array,
  tolerance = DEFAULT_TOLERANCE,
): number {
  const error = relativeL2Error(output, reference);
  if (!(error <= tolerance)) {
    throw new OrtMismatchError(workload, error, maxAbsDifference(output, reference), tolerance);
  }
  return error;
}
