/**
 * Prepared weights measured for real: the kernel reads what colt_prepare left (so a wrong
 * layout fails verification), and the one-off preparation is timed apart from the kernel.
 */
import { describe, expect, it } from "vitest";
import { PREPARE_NAME } from "../../src/codegen/c-kernel.ts";
import { generateC } from "../../src/codegen/generate.ts";
import type { IntExpr } from "../../src/ir/int-expr.ts";
import type { LoweredProgram, Stmt } from "../../src/ir/loop-nest.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

// Square B (K = N) so that a transposed fill stays in bounds and is only wrong in layout.
const program = instantiate("matmul", "small", { M: 20, N: 48, K: 48 });
const schedule = Schedule.fromTrace(
  program,
  parseTrace(
    [
      "split C.k 16 -> kc k1",
      "split C.j 16 -> jo jl",
      "reorder C kc jo i k1 jl",
      "prepare B in C",
      "vectorize C.jl",
    ].join("\n"),
  ),
);

const engine = () => new MeasurementEngine({ ...freshEvalOptions(), minMs: 5 });

/** The same lowered program with every read of B in the prepare statements transposed. */
function transposedFill(lp: LoweredProgram): LoweredProgram {
  const swap = (s: Stmt): Stmt => {
    if (s.k === "for" || s.k === "if") return { ...s, body: s.body.map(swap) };
    if (s.k !== "store" || s.value.k !== "read" || s.value.tensor !== "B") return s;
    const [row, col] = s.value.idx as [IntExpr, IntExpr];
    return { ...s, value: { ...s.value, idx: [col, row] } };
  };
  return { ...lp, prepare: lp.prepare.map(swap) };
}

describe("prepared weights", () => {
  it("lay the whole weight out as its packed panels, concatenated, and the kernel reads only them", () => {
    const lp = schedule.lower();
    const prepared = lp.buffers.filter((b) => b.role === "prepared");
    expect(prepared.map((b) => [b.name, b.shape])).toEqual([["C_B_prep", [3, 3, 16, 16]]]);
    const c = generateC(lp).kernel;
    expect(c.kernelInputs).toEqual(["A"]);
    expect(c.preparedFrom).toEqual(["B"]);
    expect(c.code).toContain(`void ${PREPARE_NAME}(const float* restrict B,`);
  });

  it("verify against the reference, and a wrong preparation is caught", async () => {
    const e = engine();
    const lp = schedule.lower();
    const [right, wrong] = await Promise.all([
      e.measure(schedule),
      e.measureSource(program, generateC(transposedFill(lp)).source),
    ]);
    expect(right.status).toBe("ok");
    expect(right.verified).toBe(true);
    expect(wrong.status).toBe("wrong-result");
    expect(wrong.verified).toBe(false);
  });

  it("are timed once as prepare, never as part of the kernel time", async () => {
    const e = engine();
    // A preparation that sleeps 400 ms: the kernel time (microseconds) must not contain it.
    const source = generateC(schedule.lower()).source.replace(
      `void ${PREPARE_NAME}(`,
      `#include <time.h>\nstatic void colt_test_sleep(void) { struct timespec t = {0, 400000000}; nanosleep(&t, 0); }\nvoid ${PREPARE_NAME}(`,
    );
    const slow = source.replace(/(void colt_prepare\([^)]*\) \{)/, "$1\n  colt_test_sleep();");
    expect(slow).not.toBe(source);
    const m = await e.measureSource(program, slow);
    expect(m.status).toBe("ok");
    expect(m.prepareMs).toBeGreaterThanOrEqual(400);
    expect(m.timing!.medianMs).toBeLessThan(400);
    const plain = await e.measure(Schedule.initial(program));
    expect(plain.prepareMs).toBeUndefined();
  });
});
