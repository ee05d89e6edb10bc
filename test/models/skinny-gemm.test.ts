/** The skinny-GEMM recipe: weight panels streamed once, prepared, through every row block. */
import { describe, expect, it } from "vitest";
import { stagesByWork } from "../../src/models/offline/recipes.ts";
import { skinnyWeightGemm } from "../../src/models/offline/skinny-gemm.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const tile = { mr: 8, nr: 32, width: 16, kc: 32 };

/** The recipe applied to every stage it takes, heaviest first. */
function everySkinnyStage(initial: Schedule): { schedule: Schedule; names: string[] } {
  let schedule = initial;
  const names: string[] = [];
  for (const st of stagesByWork(initial)) {
    const r = skinnyWeightGemm(
      schedule,
      schedule.state.stages.find((x) => x.name === st.name)!,
      tile,
    );
    if (r) {
      schedule = r.schedule;
      names.push(st.name);
    }
  }
  return { schedule, names };
}

describe("skinny-GEMM recipe", () => {
  it("blocks the reduction outermost, then the weight panels, then the row blocks, weights prepared", () => {
    const initial = Schedule.initial(
      instantiate("llama4-scout-mlp", "small", { T: 16, H: 64, F: 96 }),
    );
    const gate = initial.state.stages.find((st) => st.name === "gate_proj")!;
    expect(skinnyWeightGemm(initial, gate, tile)?.steps.map(printTransform)).toEqual([
      "split gate_proj.h 32 -> hc h1",
      "split gate_proj.f 32 -> fo f1",
      "split gate_proj.f1 16 -> fw fv",
      "split gate_proj.t 8 -> to t2",
      "reorder gate_proj hc fo to h1 t2 fw fv",
      "prepare Wg in gate_proj",
      "cache_write gate_proj at to",
      "unroll gate_proj.t2",
      "unroll gate_proj.fw",
      "vectorize gate_proj.fv",
      "pack X in gate_proj at hc",
    ]);
  });

  it("leaves tall products, stages without weights and scheduled stages alone", () => {
    const tall = Schedule.initial(instantiate("matmul", "small", { M: 200, N: 64, K: 64 }));
    expect(skinnyWeightGemm(tall, tall.state.stages[0], tile)).toBeUndefined();
    const attention = Schedule.initial(instantiate("llama3-8b-attention", "small"));
    for (const st of attention.state.stages)
      expect(skinnyWeightGemm(attention, st, tile)).toBeUndefined();
    const mlp = Schedule.initial(instantiate("llama4-scout-mlp", "small"));
    const split = mlp.apply({
      kind: "split",
      stage: "Y",
      loop: "t",
      factor: 4,
      outer: "a",
      inner: "b",
    });
    expect(
      skinnyWeightGemm(
        split,
        split.state.stages.find((st) => st.name === "Y")!,
        tile,
      ),
    ).toBeUndefined();
  });

  it("compiles and matches the reference on every GEMM of the MLP and the MoE, tails included", async () => {
    const opts = freshEvalOptions();
    const cases: { workload: string; shape: Record<string, number>; gemms: number }[] = [
      { workload: "llama4-scout-mlp", shape: { T: 12, H: 80, F: 72 }, gemms: 3 },
      { workload: "deepseek-r1-moe", shape: { T: 10, H: 72, E: 40, F: 48 }, gemms: 4 },
    ];
    for (const c of cases) {
      const { schedule, names } = everySkinnyStage(
        Schedule.initial(instantiate(c.workload, "small", c.shape)),
      );
      expect(names, c.workload).toHaveLength(c.gemms);
      const result = await verifySchedule(schedule, opts);
      expect(result.verified, `${c.workload}\n${schedule.text()}`).toBe(true);
    }
  });
});
