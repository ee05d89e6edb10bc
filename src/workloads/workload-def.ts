/** The shape of a workload definition, shared by the registry and every workload module. */
import type { Program } from "../ir/program.ts";
import { ShapeError } from "./errors.ts";

export type SizeName = "small" | "medium" | "paper";
export const SIZE_NAMES: readonly SizeName[] = ["small", "medium", "paper"];

export type ShapeParams = Readonly<Record<string, number>>;

export interface WorkloadDef {
  /** Registry key, e.g. "matmul" or "llama3-8b-attention". */
  readonly name: string;
  readonly kind: "operator" | "layer";
  /** One line. */
  readonly description: string;
  /** The public model config the paper shape comes from (layers). */
  readonly source?: string;
  /** Named shape parameters; every size names exactly the same parameters. */
  readonly sizes: Readonly<Record<SizeName, ShapeParams>>;
  build(params: ShapeParams): Program;
}

/**
 * Picks the named parameters out of `params`, so a build function can destructure them
 * with their types; a missing one is a ShapeError rather than a NaN deep in the IR.
 */
export function requireParams<const P extends string>(
  workload: string,
  params: ShapeParams,
  names: readonly P[],
): Record<P, number> {
  const picked = {} as Record<P, number>;
  for (const name of names) {
    const value = params[name];
    if (value === undefined) {
      throw new ShapeError(
        `workload '${workload}' needs parameter '${name}'; its parameters are ${names.join(", ")}`,
      );
    }
    picked[name] = value;
  }
  return picked;
}
