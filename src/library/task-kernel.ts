/**
 * One task's best kernel, ready to sit beside the others in model.c: the C that
 * src/codegen emits for the schedule, with every `colt_` name (functions, helpers,
 * vector types) given the task's own prefix so that the kernels of one file never clash.
 */
import {
  emitKernel,
  KERNEL_NAME,
  PREPARE_NAME,
  PREPARED_FN,
  WORKSPACE_FN,
  type KernelSource,
} from "../codegen/c-kernel.ts";
import type { Program } from "../ir/program.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";

export interface TaskKernel {
  /** The C of the kernel, names prefixed. */
  readonly code: string;
  readonly source: KernelSource;
  readonly kernel: string;
  readonly workspace: string;
  readonly prepare: string;
  readonly preparedFloats: string;
}

const COLT_PREFIX = /\bcolt_/g;

export function taskKernel(program: Program, trace: string, prefix: string): TaskKernel {
  const source = emitKernel(Schedule.fromTrace(program, parseTrace(trace)).lower());
  const rename = (name: string) => name.replace(COLT_PREFIX, `${prefix}_`);
  return {
    code: rename(source.code),
    source,
    kernel: rename(KERNEL_NAME),
    workspace: rename(WORKSPACE_FN),
    prepare: rename(PREPARE_NAME),
    preparedFloats: rename(PREPARED_FN),
  };
}
