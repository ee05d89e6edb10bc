/**
 * End to end, for every workload at small size:
 *  (a) the C generated for the unscheduled program computes what the TypeScript
 *      interpreter computes (seed 1, outputs concatenated in program.outputs order);
 *  (b) the hand-written schedule examples/schedules/<workload>-small.sched parses, applies,
 *      compiles, runs and matches that reference, with 1 thread and, when it uses
 *      `parallel`, with 2 threads.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { interpret } from "../../src/ir/interpret.ts";
import { buildBinary } from "../../src/measure/build.ts";
import { referenceOutput, verifySchedule, type EvalOptions } from "../../src/measure/evaluate.ts";
import { relativeL2Error } from "../../src/measure/verify.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { TRANSFORM_KINDS } from "../../src/schedule/transform.ts";
import { instantiate, listWorkloads } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const TOLERANCE = 1e-4;
const SEED = 1;
const SCHEDULES = join(import.meta.dirname, "../../examples/schedules");
const WORKLOADS = listWorkloads().map((w) => w.name);

const scheduleText = (workload: string) =>
  readFileSync(join(SCHEDULES, `${workload}-small.sched`), "utf8");

let opts: EvalOptions;

beforeAll(async () => {
  opts = freshEvalOptions({ seed: SEED });
  // Compile every binary up front, two at a time (two cores): the reference of each
  // workload and its scheduled program. The tests find them in the build cache; a source
  // that fails to generate or build is left for its test to report.
  const sources = WORKLOADS.flatMap((w) => {
    const program = instantiate(w, "small");
    try {
      const scheduled = Schedule.fromTrace(program, parseTrace(scheduleText(w)));
      return [Schedule.initial(program), scheduled].map((s) => generateC(s.lower()).source);
    } catch {
      return [generateC(Schedule.initial(program).lower()).source];
    }
  });
  await inBatches(sources, 2, (source) =>
    buildBinary(source, opts.compiler, { cacheDir: opts.cacheDir }).catch(() => undefined),
  );
});

afterAll(() => {
  rmSync(opts.cacheDir, { recursive: true, force: true });
});

function interpreterOutput(workload: string): Float32Array {
  const program = instantiate(workload, "small");
  const outputs = interpret(program, SEED);
  const parts = program.outputs.map((o) => outputs.get(o)!);
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

describe("example schedules", () => {
  it("between them use every transformation kind, and each starts with a comment", () => {
    const used = new Set<string>();
    for (const w of WORKLOADS) {
      const text = scheduleText(w);
      expect(text.trimStart().startsWith("#"), w).toBe(true);
      for (const t of parseTrace(text)) used.add(t.kind);
    }
    expect([...used].sort()).toEqual([...TRANSFORM_KINDS].sort());
  });
});

describe.each(WORKLOADS)("%s (small)", (workload) => {
  const program = instantiate(workload, "small");
  const trace = parseTrace(scheduleText(workload));
  const parallel = trace.some((t) => t.kind === "parallel");

  it("unscheduled C matches the interpreter", async () => {
    const reference = await referenceOutput(program, opts);
    const expected = interpreterOutput(workload);
    expect(reference.length).toBe(expected.length);
    expect(relativeL2Error(reference, expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  it("hand-written schedule matches the reference", async () => {
    const schedule = Schedule.fromTrace(program, trace);
    const v = await verifySchedule(schedule, opts);
    expect(v.error).toBeLessThanOrEqual(TOLERANCE);
    expect(v.verified).toBe(true);
  });

  it.runIf(parallel)("hand-written schedule matches the reference with 2 threads", async () => {
    const schedule = Schedule.fromTrace(program, trace);
    const v = await verifySchedule(schedule, { ...opts, threads: 2 });
    expect(v.error).toBeLessThanOrEqual(TOLERANCE);
    expect(v.verified).toBe(true);
  });
});
