/**
 * Exact memory footprint of a program's tensors. BigInt, because extents multiply past
 * 2^53 (where float products round) and past 2^31 (where 32-bit C indices wrap).
 */
import { stageShape, type Program } from "./program.ts";

export const FLOAT_BYTES = 4n;

export function elementCount(shape: readonly number[]): bigint {
  return shape.reduce((n, d) => n * BigInt(d), 1n);
}

/** Bytes of every tensor of the unscheduled program: inputs, intermediates and outputs. */
export function tensorBytes(p: Program): bigint {
  const inputs = p.inputs.reduce((n, t) => n + elementCount(t.shape), 0n);
  const stages = p.stages.reduce((n, s) => n + elementCount(stageShape(s)), 0n);
  return (inputs + stages) * FLOAT_BYTES;
}
