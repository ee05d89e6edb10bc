/**
 * Errors raised when a workload or shape is requested by name. They live apart from the
 * registry so workload modules can throw them without importing the registry (no cycle).
 */

export class UnknownWorkloadError extends Error {
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown workload '${requested}'; known workloads: ${known.join(", ")}`);
    this.name = "UnknownWorkloadError";
  }
}

/** A malformed --shape text, an unknown or missing parameter, or a shape that cannot be built. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}
