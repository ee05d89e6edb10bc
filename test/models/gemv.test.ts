/** The GEMV recipe: one row against a prepared weight streamed once in column panels. */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { gemvWeightStream } from "../../src/models/offline/gemv.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const tile = { mr: 8, nr: 32, width: 16, kc: 256, maxRows: 8, widestNr: 32, widths: [16, 8, 4] };
const opts = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

const gemv = (shape: Record<string, number>) => {
  const s = Schedule.initial(instantiate("matmul", "small", shape));
  return gemvWeightStream(s, s.state.stages[0], tile, 2);
};

describe("GEMV recipe", () => {
  it("streams the prepared weight in 64-column panels, panels in parallel", () => {
    expect(gemv({ M: 1, N: 200, K: 37 })?.steps.map(printTransform)).toEqual([
      "split C.j 64 -> jo j1",
      "split C.j1 16 -> jv jl",
      "reorder C jo k jv jl",
      "prepare B in C",
      "cache_write C at jo",
      "unroll C.jv",
      "vectorize C.jl",
      "parallel C.jo",
    ]);
  });

  it("applies only to one row", () => {
    expect(gemv({ M: 2, N: 200, K: 37 })).toBeUndefined();
  });

  it("computes the reference with a column tail on 2 threads", async () => {
    // 200 = 3 x 64 + 8: the last panel runs half a vector and three empty ones.
    const r = await verifySchedule(gemv({ M: 1, N: 200, K: 37 })!.schedule, opts);
    expect(r.verified, `error ${r.error}`).toBe(true);
  });
});
