/** Scheduled program -> one C translation unit: kernel plus measurement harness. */
import type { LoweredProgram } from "../ir/loop-nest.ts";
import { emitKernel, type KernelSource } from "./c-kernel.ts";
import { emitHarness } from "./harness.ts";

export interface GeneratedProgram {
  readonly kernel: KernelSource;
  /** Kernel and harness `main`, ready for the C compiler. */
  readonly source: string;
}

export function generateC(lp: LoweredProgram): GeneratedProgram {
  const kernel = emitKernel(lp);
  return { kernel, source: kernel.code + emitHarness(kernel) };
}
