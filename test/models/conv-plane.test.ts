/** The convolution recipe for small output planes: the plane in registers, input channels outermost. */
import { describe, expect, it } from "vitest";
import { convPlaneChannelsOuter } from "../../src/models/offline/conv-plane.ts";
import { ExpertProposer, offlineBucket } from "../../src/models/offline/proposers.ts";
import { tileChoices } from "../../src/models/offline/tile-shapes.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { stepText } from "../../src/search/proposer.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { X86_AVX512 } from "../../src/target/targets.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";
import { context } from "./support/context.ts";

const [tile] = tileChoices(X86_AVX512);
const stage = (s: Schedule, name: string) => s.state.stages.find((st) => st.name === name)!;

describe("plane-tile convolution recipe", () => {
  it("writes the program searches found for flux-conv at medium size", () => {
    const initial = Schedule.initial(instantiate("flux-conv", "medium"));
    const [plain, prepared] = convPlaneChannelsOuter(initial, stage(initial, "conv"), tile);
    expect(plain.steps.map(printTransform)).toEqual([
      "reorder conv n o c ry rx y x",
      "cache_write conv at o",
      "unroll conv.y",
      "vectorize conv.x",
      "reorder conv c o",
      "unroll conv.ry",
    ]);
    expect(prepared.steps.map(printTransform)).toEqual([
      ...plain.steps.map(printTransform),
      "prepare Wt in conv",
    ]);
  });

  it("leaves planes larger than a tile, and single-reduction stages, to other recipes", () => {
    const paper = Schedule.initial(instantiate("flux-conv", "paper"));
    expect(convPlaneChannelsOuter(paper, stage(paper, "conv"), tile)).toEqual([]);
    const medium = Schedule.initial(instantiate("flux-conv", "medium"));
    expect(convPlaneChannelsOuter(medium, stage(medium, "Y"), tile)).toEqual([]);
    const matmul = Schedule.initial(instantiate("matmul", "small"));
    expect(convPlaneChannelsOuter(matmul, matmul.state.stages[0], tile)).toEqual([]);
  });

  it("is among the expert's candidates", async () => {
    const schedule = Schedule.initial(instantiate("flux-conv", "medium"));
    const { action } = await offlineBucket(1)
      .find((p) => p instanceof ExpertProposer)!
      .propose(
        context({
          schedule,
          legalMoves: () => legalMoves(schedule, { threads: 1 }),
          predictMs: (s) => (s.text().includes("reorder conv c o") ? 1 : 2),
        }),
      );
    expect(action.steps.map(stepText)).toContain("reorder conv c o");
  });

  it("compiles and matches the reference, the weight as it is and prepared", async () => {
    const initial = Schedule.initial(
      instantiate("flux-conv", "small", { N: 1, C: 24, H: 8, W: 8, O: 20 }),
    );
    const recipes = convPlaneChannelsOuter(initial, stage(initial, "conv"), tile);
    expect(recipes).toHaveLength(2);
    for (const r of recipes) {
      const v = await verifySchedule(r.schedule, freshEvalOptions());
      expect(v.verified, `${r.name}: error ${v.error}`).toBe(true);
    }
  }, 120_000);
});
