/** The blocked-chain recipe: attention's intermediates computed per block of query rows. */
import { describe, expect, it } from "vitest";
import { computeChainPerBlock, tiledChainPerBlock } from "../../src/models/offline/block-chain.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const stageOf = (s: Schedule, name: string) => s.state.stages.find((st) => st.name === name)!;

describe("blocked-chain recipe", () => {
  it("splits O's query rows into blocks and computes every producer inside the block loop, the cheap ones inlined", async () => {
    const initial = Schedule.initial(
      instantiate("llama3-8b-attention", "small", { G: 2, R: 3, S: 29, D: 12 }),
    );
    const r = computeChainPerBlock(initial, stageOf(initial, "O"));
    expect(r?.steps.map(printTransform)).toEqual([
      "split O.s 14 -> sb si",
      "compute_at probs at O.sb",
      "compute_at row_sum at O.sb",
      "compute_at exp_scores at O.sb",
      "compute_at row_max at O.sb",
      "compute_inline logits",
      "compute_at scores at O.sb",
    ]);
    // The scaled, masked logits cost a multiply and a select: recomputed, not stored.
    expect(r?.name).toBe("compute 5 producers per 14-row block of O, logits inlined");
    const result = await verifySchedule(r!.schedule, freshEvalOptions());
    expect(result.verified).toBe(true);
  }, 60_000);

  it("tiles the chain like the paper schedule: shared K panels, vector exp, vector row statistics", async () => {
    const initial = Schedule.initial(
      instantiate("flux-attention", "small", { H: 2, S: 40, D: 32 }),
    ).apply({ kind: "compute_inline", stage: "logits" });
    const r = tiledChainPerBlock(initial, stageOf(initial, "O"), {
      mr: 4,
      nr: 16,
      width: 16,
      kc: 64,
      maxRows: 8,
      widestNr: 16,
      widths: [16, 8, 4],
    });
    const steps = r?.steps.map(printTransform) ?? [];
    expect(steps).toContain("vectorize O.dt");
    expect(steps).toContain("vectorize scores.tt");
    // K's panel loop outside the block's row groups, packed once per panel for the whole
    // block, and the accumulators one register tile (cache_write at the row group).
    expect(steps).toContain("pack K in scores at to");
    expect(steps).toContain("reorder scores h to so d sr tt");
    expect(steps).toContain("cache_write scores at so");
    expect(steps).toContain("vectorize exp_scores.tv");
    // Row statistics along the contiguous key axis: vector accumulators, not 8 scalar rows.
    expect(steps).toContain("cache_write row_sum at s");
    expect(steps).toContain("vectorize row_sum.tv");
    expect(steps).toContain("vectorize row_max.tv");
    const result = await verifySchedule(r!.schedule, freshEvalOptions());
    expect(result.verified).toBe(true);
  }, 60_000);

  it("leaves stages without a chain of producers alone", () => {
    const matmul = Schedule.initial(instantiate("matmul", "small"));
    expect(computeChainPerBlock(matmul, stageOf(matmul, "C"))).toBeUndefined();
    const attention = Schedule.initial(instantiate("flux-attention", "small"));
    expect(computeChainPerBlock(attention, stageOf(attention, "row_max"))).toBeUndefined();
  });

  it("keeps contractions against weights out of a chain: they would re-read the weight per block", () => {
    for (const [workload, consumer] of [
      ["llama4-scout-mlp", "Y"],
      ["deepseek-r1-moe", "Y"],
    ] as const) {
      const layer = Schedule.initial(instantiate(workload, "small"));
      expect(computeChainPerBlock(layer, stageOf(layer, consumer)), workload).toBeUndefined();
    }
  });
});
