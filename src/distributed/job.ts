/**
 * A measurement job is data, never code: the workload's name and shape, the trace, the
 * seed and timing settings. The worker rebuilds the program from its own workload
 * registry, replays the trace through the schedule parser and generates the C itself;
 * no text from the queue is ever compiled.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { programHash } from "../ir/hash.ts";
import type { Program } from "../ir/program.ts";
import type { Measurement } from "../measure/engine.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import { InvalidJobError } from "./errors.ts";
import { instantiate, SIZE_NAMES, type SizeName } from "../workloads/registry.ts";

/** Longer traces are not schedules a search writes. */
const MAX_TRACE_CHARS = 65_536;

const jobSchema = z.strictObject({
  workload: z.string().regex(/^[\w.-]{1,100}$/),
  size: z.custom<SizeName>((v) => (SIZE_NAMES as readonly unknown[]).includes(v)),
  shape: z.record(z.string().regex(/^\w{1,40}$/), z.number().int().positive()),
  programHash: z.string().regex(/^[0-9a-f]{8,128}$/),
  trace: z.string().max(MAX_TRACE_CHARS),
  seed: z.number().int().positive(),
  threads: z.number().int().positive(),
  minMs: z.number().positive().max(600_000),
});

export type MeasureJob = z.infer<typeof jobSchema>;

/** What a worker answers: the measurement and who made it. */
export interface JobResult {
  readonly measurement: Measurement;
  readonly worker: string;
}

/** The settings every job of one tuning run shares. */
export interface JobSettings {
  readonly workload: string;
  readonly size: MeasureJob["size"];
  readonly seed: number;
  readonly threads: number;
  readonly minMs: number;
}

export function jobOf(schedule: Schedule, s: JobSettings): MeasureJob {
  return {
    ...s,
    shape: { ...schedule.program.params },
    programHash: programHash(schedule.program),
    trace: schedule.text(),
  };
}

/**
 * The job's id: a hash of everything that decides its result, so a candidate submitted
 * twice (a resumed tuner) is one job and is measured once.
 */
export function jobId(job: MeasureJob, machineKey: string): string {
  const text = JSON.stringify([
    machineKey,
    job.workload,
    job.size,
    job.shape,
    job.programHash,
    job.trace,
    job.seed,
    job.threads,
    job.minMs,
  ]);
  return createHash("sha256").update(text).digest("hex");
}

/** Validates job data from the queue; throws (zod, shape or schedule errors) when it is not a job. */
export function parseJob(data: unknown): MeasureJob {
  return jobSchema.parse(data);
}

/** Rebuilds the candidate from validated data; the program must hash as the tuner's did. */
export function scheduleOfJob(job: MeasureJob): Schedule {
  const program: Program = instantiate(job.workload, job.size, job.shape);
  const hash = programHash(program);
  if (hash !== job.programHash)
    throw new InvalidJobError(
      `the workload ${job.workload} builds a different program here (hash ${hash}, the tuner's ${job.programHash}); tuner and worker run different COLT versions`,
    );
  return Schedule.fromTrace(program, parseTrace(job.trace));
}
