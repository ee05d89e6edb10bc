/** Transposing packs emitted as blocks of vector loads, an in-register transpose and stores. */
import { describe, expect, it } from "vitest";
import { emitKernel } from "../../src/codegen/c-kernel.ts";
import { transposeName } from "../../src/codegen/transpose-copy.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

/** Q·K^T with K packed per panel of `lanes` keys, key-major: a transpose of K's rows. */
function packedScores(lanes: number, D: number): Schedule {
  const program = instantiate("flux-attention", "small", { H: 2, S: 48, D });
  return Schedule.fromTrace(
    program,
    parseTrace(
      [
        `split scores.t ${lanes} -> to tl`,
        "reorder scores h to s d tl",
        "pack K in scores at to",
        "vectorize scores.tl",
      ].join("\n"),
    ),
  );
}

describe("transposing packs", () => {
  for (const lanes of [16, 8, 4]) {
    it(`copies K's ${lanes}-key panels in ${lanes} x ${lanes} blocks, and the kernel verifies`, async () => {
      const schedule = packedScores(lanes, 32);
      const code = emitKernel(schedule.lower()).code;
      expect(code).toContain(`${transposeName(lanes)}(colt_rows);`);
      const result = await verifySchedule(schedule, freshEvalOptions());
      expect(result.verified, `relative error ${result.error}`).toBe(true);
    }, 60_000);
  }

  it("keeps the element copy where the source's contiguous loop is not whole blocks", async () => {
    const schedule = packedScores(16, 20);
    expect(emitKernel(schedule.lower()).code).not.toContain("colt_transpose");
    const result = await verifySchedule(schedule, freshEvalOptions());
    expect(result.verified, `relative error ${result.error}`).toBe(true);
  }, 60_000);

  it("keeps the element copy where the pack does not transpose (a GEMM's B panel)", () => {
    const program = instantiate("matmul", "small", { M: 32, N: 64, K: 32 });
    const schedule = Schedule.fromTrace(
      program,
      parseTrace(
        [
          "split C.j 16 -> jo jl",
          "reorder C jo i k jl",
          "pack B in C at jo",
          "vectorize C.jl",
        ].join("\n"),
      ),
    );
    const code = emitKernel(schedule.lower()).code;
    expect(code).toContain("C_B_pack");
    expect(code).not.toContain("colt_transpose");
  });
});
