/** Shared by the target tests: a target's compiler, or why the target cannot run here. */
import { detectCompiler } from "../../src/measure/compiler.ts";
import type { EvalOptions } from "../../src/measure/evaluate.ts";
import { resolveTarget } from "../../src/target/detect.ts";
import { TargetError } from "../../src/target/errors.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

/** Evaluation options building for `name`, or undefined when its binaries cannot run here. */
export function targetEvalOptions(name: string): EvalOptions | undefined {
  try {
    return freshEvalOptions({ compiler: detectCompiler(undefined, resolveTarget(name)) });
  } catch (e) {
    if (e instanceof TargetError) return undefined;
    throw e;
  }
}
