/** The convolution recipe: a direct convolution blocked as an implicit GEMM in one step. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { channelBlock, convGemm } from "../../src/models/offline/conv-gemm.ts";
import { LookaheadProposer } from "../../src/models/offline/proposers.ts";
import { stepText } from "../../src/search/proposer.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { tileChoices } from "../../src/models/offline/tile-shapes.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { X86_AVX512 } from "../../src/target/targets.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";
import { context } from "./support/context.ts";

const tiles = tileChoices(X86_AVX512);
/** x86-avx512's 8 x 32 tile (16 zmm accumulators), the one the paper schedule uses. */
const wide = tiles.find((c) => c.mr === 8 && c.nr === 32 && c.kc === 256)!;

/** Every split leaves a tail: channel tiles and thread parts, channel blocks, columns. */
const SMALL = { N: 1, C: 80, H: 5, W: 19, O: 50 };

const conv = (s: Schedule) => s.state.stages.find((st) => st.name === "conv")!;

describe("convolution recipe", () => {
  it("writes the conv steps of the paper hand schedule on 2 threads", () => {
    const initial = Schedule.initial(instantiate("flux-conv", "paper"));
    const steps = convGemm(initial, conv(initial), wide, 2)?.steps.map(printTransform);
    const hand = parseTrace(
      readFileSync(
        new URL("../../examples/schedules/flux-conv-paper.sched", import.meta.url),
        "utf8",
      ),
    )
      .filter((t) => t.stage === "conv")
      .map(printTransform);
    expect(steps).toEqual(hand);
  });

  it("needs no per-thread split on one thread", () => {
    const initial = Schedule.initial(instantiate("flux-conv", "paper"));
    const steps = convGemm(initial, conv(initial), wide, 1)?.steps.map(printTransform);
    expect(steps?.[0]).toBe("split conv.o 8 -> oo oi");
    expect(steps?.some((t) => t.startsWith("parallel"))).toBe(false);
  });

  it("takes only the widest tile the output allows", () => {
    const paper = Schedule.initial(instantiate("flux-conv", "paper"));
    expect(tiles.filter((t) => convGemm(paper, conv(paper), t, 1) !== undefined)).toEqual([wide]);
    // Output rows of 19 columns: no room for 32, so one-vector tiles stay offered.
    const small = Schedule.initial(instantiate("flux-conv", "small", SMALL));
    const narrow = tiles.find((c) => c.mr === 8 && c.nr === 16)!;
    expect(convGemm(small, conv(small), narrow, 1)).toBeDefined();
  });

  it("blocks the reduction so that a tile's weight panel fills half of L1", () => {
    expect(channelBlock(8, 9)).toBe(64);
    expect(channelBlock(6, 9)).toBe(64);
    expect(channelBlock(4, 9)).toBe(128);
    expect(channelBlock(8, 1)).toBe(512);
  });

  it("leaves single-reduction contractions and element-wise stages to other recipes", () => {
    const matmul = Schedule.initial(instantiate("matmul", "small", { M: 256, N: 256, K: 256 }));
    expect(convGemm(matmul, matmul.state.stages[0], wide)).toBeUndefined();
    const flux = Schedule.initial(instantiate("flux-conv", "paper"));
    const bias = flux.state.stages.find((st) => st.name === "Y")!;
    expect(convGemm(flux, bias, wide)).toBeUndefined();
  });

  it("is among the offline proposers' candidates", async () => {
    const schedule = Schedule.initial(instantiate("flux-conv", "small", SMALL));
    const proposer = new LookaheadProposer(
      { name: "lookahead", kind: "offline", size: 70e9, description: "test" },
      1,
    );
    // Only the convolution recipe tiles conv's output channels (its tile rows are conv.oi).
    const { action } = await proposer.propose(
      context({
        schedule,
        legalMoves: () => legalMoves(schedule, { threads: 1 }),
        predictMs: (s) => (s.text().includes("unroll conv.oi") ? 1 : 2),
      }),
    );
    expect(action.steps.map(stepText)).toContain("prepare Wt in conv");
    expect(action.steps.map(stepText)).toContain("unroll conv.oi");
  });

  it("compiles and matches the reference with tails in every dimension, on 1 and 2 threads", async () => {
    const initial = Schedule.initial(instantiate("flux-conv", "small", SMALL));
    const cases = [1, 2].map((threads) => ({
      threads,
      recipe: convGemm(initial, conv(initial), wide, threads)!,
    }));
    for (const c of cases) expect(c.recipe, `${c.threads} threads`).toBeDefined();
    const results = await inBatches(cases, 2, (c) =>
      verifySchedule(c.recipe.schedule, freshEvalOptions({ threads: c.threads })),
    );
    results.forEach((v, n) =>
      expect(v.verified, `${cases[n].threads} threads: error ${v.error}`).toBe(true),
    );
  }, 120_000);
});
