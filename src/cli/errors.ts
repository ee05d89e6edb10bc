/**
 * Turns known failures into one clear line and an exit code; anything unexpected keeps
 * its stack trace, because that is a bug in COLT.
 */
import { OrtMismatchError } from "../compare/check.ts";
import { OrtMissingError } from "../compare/ort-load.ts";
import { OrtRunError } from "../compare/ort-run.ts";
import { CoresError } from "../measure/cpu-list.ts";
import { QueueError } from "../distributed/errors.ts";
import { DatabaseError } from "../db/database.ts";
import { RunNotFoundError } from "../db/records.ts";
import { ProgramError } from "../ir/builder.ts";
import { BucketError } from "../models/bucket.ts";
import { NoOnnxGraphError } from "../onnx/graphs.ts";
import { OnnxReadError, UnknownTaskError, UnsupportedModelError } from "../onnx/import/errors.ts";
import { ReplayError } from "../models/llm/errors.ts";
import { RecordsError } from "../models/llm/records.ts";
import { CandidateError, CompilerNotFoundError, ToolNotFoundError } from "../measure/errors.ts";
import { MemoryLimitError, MemorySizeError } from "../measure/memory-limit.ts";
import { ScheduleError, ScheduleSyntaxError } from "../schedule/errors.ts";
import { TuneError } from "../search/tune.ts";
import { PathError } from "../util/paths.ts";
import { LibraryError } from "../library/errors.ts";
import { ModelBudgetError } from "../tuning/model-tuner.ts";
import { TargetError } from "../target/errors.ts";
import { ShapeError, UnknownWorkloadError } from "../workloads/registry.ts";
import { printErr } from "./output.ts";

/** An error the user can fix: bad argument, missing file, ... */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const USER_ERRORS = [
  UsageError,
  ScheduleError,
  ScheduleSyntaxError,
  UnknownWorkloadError,
  ShapeError,
  ProgramError,
  CompilerNotFoundError,
  CandidateError,
  ToolNotFoundError,
  MemoryLimitError,
  MemorySizeError,
  TuneError,
  BucketError,
  ReplayError,
  RecordsError,
  DatabaseError,
  RunNotFoundError,
  PathError,
  OrtMissingError,
  OrtMismatchError,
  OrtRunError,
  NoOnnxGraphError,
  OnnxReadError,
  UnsupportedModelError,
  UnknownTaskError,
  QueueError,
  TargetError,
  CoresError,
  ModelBudgetError,
  LibraryError,
];

export function reportError(e: unknown, write: (line: string) => void = printErr): number {
  if (USER_ERRORS.some((cls) => e instanceof cls)) {
    write(`colt: ${(e as Error).message}\n`);
    return 1;
  }
  write(
    `colt: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  return 70;
}
