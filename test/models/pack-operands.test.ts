/**
 * The offline recipe that packs a vectorized stage's large operands at its outermost
 * reduction loop: not a row reduction's row, read once and already contiguous there.
 */
import { describe, expect, it } from "vitest";
import { packOperands } from "../../src/models/offline/recipes.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { stageState } from "../../src/schedule/state.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";

function packSteps(workload: string, shape: Record<string, number>, trace: string, stage: string) {
  const s = Schedule.fromTrace(instantiate(workload, "small", shape), parseTrace(trace));
  return packOperands(s, stageState(s.state, stage))?.steps ?? [];
}

describe("packOperands", () => {
  it("leaves a row reduction's row in place", () => {
    const trace = [
      "split sum_sq.j 64 -> jo j1",
      "split sum_sq.j1 16 -> ja jv",
      "cache_write sum_sq at i",
      "vectorize sum_sq.jv",
    ].join("\n");
    expect(packSteps("rmsnorm", { rows: 64, cols: 4096 }, trace, "sum_sq")).toEqual([]);
  });

  it("packs a matmul operand that the loops inside read again", () => {
    const trace = [
      "split C.k 64 -> kc ki",
      "reorder C kc i ki j",
      "split C.j 16 -> jo ji",
      "vectorize C.ji",
    ].join("\n");
    const steps = packSteps("matmul", { M: 256, N: 256, K: 256 }, trace, "C");
    expect(steps.map((t) => t.kind === "pack" && t.tensor)).toEqual(["A", "B"]);
  });
});
