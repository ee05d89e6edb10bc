/** Shared command-line options: workload size and shape, schedule file, integers. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Program } from "../ir/program.ts";
import {
  checkMemory,
  MAX_MEMORY_ENV,
  resolveMemoryLimit,
  type MemoryLimit,
} from "../measure/memory-limit.ts";
import { ScheduleError, ScheduleSyntaxError } from "../schedule/errors.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import { importedProgram, importedTask } from "../onnx/import/import-model.ts";
import { taskSubgraph } from "../onnx/import/subgraph.ts";
import type { OnnxModel } from "../onnx/model.ts";
import {
  instantiateShape,
  parseShapeOverrides,
  SIZE_NAMES,
  type SizeName,
} from "../workloads/registry.ts";
import { requireFile } from "../util/paths.ts";
import { detectTargetName, findTarget, resolveTarget } from "../target/detect.ts";
import type { BoundTarget, Target } from "../target/target.ts";
import { UsageError } from "./errors.ts";

export interface WorkloadOptions {
  size?: string;
  shape?: string;
}

export const TARGET_OPTION = [
  "--target <name>",
  "what to build for: native (this machine's, the default) or a name from 'colt targets'",
] as const;

/** The target of --target, bound to this machine (how its binaries run here). */
export function loadTarget(name: string | undefined): BoundTarget {
  return resolveTarget(name ?? "native");
}

/** The target of --target for a command that only reads records: it need not run here. */
export function chosenTarget(name: string | undefined): Target {
  return findTarget(name === undefined || name === "native" ? detectTargetName() : name);
}

/** The target of --target for a command that times kernels: never an emulated one. */
export function loadTimedTarget(name: string | undefined, command: string): BoundTarget {
  const target = loadTarget(name);
  if (target.execution.kind === "emulated")
    throw new UsageError(
      `${target.name} runs under an emulator here, and emulated times are not timings; run colt ${command} on ${target.isa.arch} hardware (colt measure --target ${target.name} verifies a schedule here)`,
    );
  return target;
}

export const MAX_MEMORY_OPTION = [
  "--max-memory <size>",
  `memory the workload's tensors may take, e.g. 8G (default: $${MAX_MEMORY_ENV}, else 3/4 of the machine's memory)`,
] as const;

/**
 * The memory limit (--max-memory, else the environment, else the machine), checked against
 * the programs at once: a workload that cannot fit is refused before anything is built.
 */
export function admitPrograms(
  programs: readonly Program[],
  maxMemory: string | undefined,
): MemoryLimit {
  const limit = resolveMemoryLimit(maxMemory);
  for (const p of programs) checkMemory(p, limit);
  return limit;
}

export function parseSize(text: string | undefined): SizeName {
  const size = text ?? "small";
  if (!(SIZE_NAMES as readonly string[]).includes(size)) {
    throw new UsageError(`unknown size '${size}' (sizes: ${SIZE_NAMES.join(", ")})`);
  }
  return size as SizeName;
}

/**
 * A built-in workload by name, or a task of an ONNX model as `model.onnx#task`; for a
 * model, `--shape NAME=VALUE` fixes its symbolic dimensions (what `--dim` does for import).
 */
export function loadProgram(workload: string, opts: WorkloadOptions): Program {
  const task = modelTask(workload, opts);
  if (task) return importedProgram(task.file, task.name, task.dims);
  return instantiateShape(workload, parseSize(opts.size), opts.shape);
}

/** The ONNX subgraph of `model.onnx#task` (what `colt compare` runs); undefined for a built-in workload. */
export function loadTaskOnnx(workload: string, opts: WorkloadOptions): OnnxModel | undefined {
  const task = modelTask(workload, opts);
  if (!task) return undefined;
  const { model, task: imported } = importedTask(task.file, task.name, task.dims);
  return taskSubgraph(model, imported);
}

function modelTask(
  workload: string,
  opts: WorkloadOptions,
): { file: string; name: string; dims: Record<string, number> } | undefined {
  const hash = workload.lastIndexOf("#");
  if (hash <= 0) return undefined;
  const dims = parseShapeOverrides(opts.shape ?? "", "symbolic dimensions of the model");
  return { file: workload.slice(0, hash), name: workload.slice(hash + 1), dims };
}

/** `--dim NAME=VALUE` given once or more. */
export function parseModelDims(dims: readonly string[] | undefined): Record<string, number> {
  return parseShapeOverrides((dims ?? []).join(","), "--dim takes NAME=VALUE, e.g. --dim batch=1");
}

/** Reads and replays a schedule file; errors name the file. */
export function loadSchedule(program: Program, file: string | undefined): Schedule {
  if (!file) return Schedule.initial(program);
  requireFile(file, "--schedule");
  const text = readFileSync(file, "utf8");
  try {
    return Schedule.fromTrace(program, parseTrace(text));
  } catch (e) {
    if (e instanceof ScheduleSyntaxError) throw new UsageError(`${file}:${e.message}`);
    if (e instanceof ScheduleError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}

export function parsePositiveNumber(name: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`${name} must be a positive number, got '${text}'`);
    return n;
  };
}

export function parsePositiveInt(name: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1)
      throw new UsageError(`${name} must be a positive integer, got '${text}'`);
    return n;
  };
}

export function parseNonNegativeInt(name: string): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text))
      throw new UsageError(`${name} must be a whole number (0 or more), got '${text}'`);
    return Number(text);
  };
}

/** `--threads` of a command that runs kernels: at most the cores this process may use. */
export function parseThreads(text: string): number {
  const threads = parsePositiveInt("--threads")(text);
  const cores = availableParallelism();
  if (threads > cores)
    throw new UsageError(
      `--threads ${threads} is more than the ${cores} core${cores > 1 ? "s" : ""} available here; give at most ${cores}`,
    );
  return threads;
}
