/**
 * `winograd`: the rewrite into Winograd F(2x2,3x3) stages, its constant stages computed
 * in prepare, and the paper hand schedule compiled and checked against the direct
 * convolution at a shape where every split of it leaves a tail.
 */
import { readFileSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { tensorsRead } from "../../src/ir/loop-nest.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { winogradConv } from "../../src/models/offline/winograd-conv.ts";
import { tileChoices } from "../../src/models/offline/tile-shapes.ts";
import { candidateMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { stageState } from "../../src/schedule/state.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { X86_AVX512 } from "../../src/target/targets.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const one = freshEvalOptions({ threads: 1 });
const two = freshEvalOptions({ threads: 2 });
afterAll(() => {
  for (const o of [one, two]) rmSync(o.cacheDir, { recursive: true, force: true });
});

const handSchedule = () =>
  parseTrace(
    readFileSync(
      new URL("../../examples/schedules/flux-conv-winograd-paper.sched", import.meta.url),
      "utf8",
    ),
  );

describe("winograd", () => {
  it("replaces the convolution by transform stages and a batched GEMM", () => {
    const s = Schedule.fromTrace(instantiate("flux-conv", "small"), parseTrace("winograd conv"));
    expect(s.state.program.stages.map((x) => x.name)).toEqual([
      "padded",
      "conv_G",
      "conv_BT",
      "conv_AT",
      "conv_U",
      "conv_D",
      "conv_V",
      "conv_M",
      "conv_Y",
      "conv",
      "Y",
    ]);
    const gemm = s.state.program.stages.find((x) => x.name === "conv_M")!;
    expect(gemm.axes.map((a) => `${a.name}:${a.extent}`)).toEqual([
      "e:4",
      "f:4",
      "n:1",
      "o:16",
      "t:25",
    ]);
    expect(gemm.reduceAxes).toEqual([{ name: "c", extent: 16 }]);
  });

  it("computes the tables and the filter transform once, in prepare", () => {
    const lowered = Schedule.fromTrace(
      instantiate("flux-conv", "small"),
      parseTrace("winograd conv"),
    ).lower();
    const prepared = lowered.buffers.filter((b) => b.role === "prepared").map((b) => b.name);
    expect(prepared).toEqual(["conv_G", "conv_BT", "conv_AT", "conv_U"]);
    // The kernel reads the filter transform, never the weight it is computed from.
    expect(tensorsRead(lowered.body)).toContain("conv_U");
    expect(tensorsRead(lowered.body)).not.toContain("Wt");
    expect(tensorsRead(lowered.prepare)).toContain("Wt");
  });

  it("lets the GEMM prepare the transformed filter, not the transformed input", () => {
    const program = instantiate("flux-conv", "small");
    expect(() =>
      Schedule.fromTrace(program, parseTrace("winograd conv\nprepare conv_U in conv_M")),
    ).not.toThrow();
    expect(() =>
      Schedule.fromTrace(program, parseTrace("winograd conv\nprepare conv_V in conv_M")),
    ).toThrow(/'conv_V' is not a weight \(weights: Wt, bias\) nor computed from weights alone/);
  });

  it("refuses, and never offers, a parallel loop or a copy in a stage computed in prepare", () => {
    // prepare has no workspace and runs serially: such schedules compiled to C naming a
    // workspace and kernel parameters it lacks.
    const program = instantiate("flux-conv", "small");
    expect(() =>
      Schedule.fromTrace(program, parseTrace("winograd conv\nparallel conv_U.e")),
    ).toThrow(/stage conv_U, loop e: the stage is computed once in prepare, which runs serially/);
    for (const copy of ["cache_read", "pack"]) {
      expect(() =>
        Schedule.fromTrace(program, parseTrace(`winograd conv\n${copy} Wt in conv_U at c`)),
      ).toThrow(
        /stage conv_U: its copy '.*' needs the kernel's workspace.*computed once in prepare/,
      );
    }
    const rewritten = Schedule.fromTrace(program, parseTrace("winograd conv"));
    const moves = candidateMoves(rewritten, { threads: 2 });
    const refused = ["cache_read", "pack", "parallel"];
    expect(moves.filter((t) => refused.includes(t.kind) && t.stage === "conv_U")).toEqual([]);
    for (const kind of refused)
      expect(moves.some((t) => t.kind === kind && t.stage === "conv_M")).toBe(true);
  });

  it("matches the direct convolution unscheduled, with a batch of two", async () => {
    const program = instantiate("conv2d", "small", { N: 2, H: 8, W: 6 });
    const r = await verifySchedule(Schedule.fromTrace(program, parseTrace("winograd Y")), one);
    expect(r.verified, `error ${r.error}`).toBe(true);
  }, 60_000);

  it("runs the paper hand schedule at a shape with tails on 1 and 2 threads", async () => {
    // c 300 = 256 + 44, o 120 = 64 + 56, 144 tiles = 128 + 16 per thread part, rows of 16
    // tiles; the tails small enough that the prepared filter stays within twice its size.
    const program = instantiate("flux-conv", "small", { N: 1, C: 300, H: 18, W: 32, O: 120 });
    const schedule = Schedule.fromTrace(program, handSchedule());
    const results = await inBatches([one, two], 2, (opts) => verifySchedule(schedule, opts));
    results.forEach((r, n) => expect(r.verified, `${n + 1} threads: error ${r.error}`).toBe(true));
  }, 120_000);

  it("folds the transform matrices into the kernel where their loops are unrolled", () => {
    const program = instantiate("flux-conv", "small", { N: 1, C: 300, H: 18, W: 32, O: 120 });
    const kernelOf = (trace: string) => {
      const code = generateC(Schedule.fromTrace(program, parseTrace(trace)).lower()).kernel.code;
      return code.slice(code.indexOf("colt_body("));
    };
    const hand = kernelOf(handSchedule().map(printTransform).join("\n"));
    expect(hand).not.toMatch(/conv_BT\[|conv_AT\[/);
    // The input transform's 16 outputs: 4 terms each, all additions or subtractions (twice:
    // the parallel loop and its one-thread copy).
    expect(hand.match(/conv_V_local_\d+_\d+_0 = \(conv_V_local/g)).toHaveLength(2 * 16 * 4);
    // With its outputs' loops not unrolled, the coefficients stay reads of the table.
    const rolled = kernelOf(
      [
        "winograd conv",
        "split conv_V.t 16 -> to ti",
        "reorder conv_V n c e f to a b ti",
        "cache_write conv_V at to",
        "unroll conv_V.a",
        "unroll conv_V.b",
        "vectorize conv_V.ti",
      ].join("\n"),
    );
    expect(rolled).toMatch(/conv_BT\[/);
  });
});

describe("Winograd recipe", () => {
  const wide = tileChoices(X86_AVX512).find((c) => c.mr === 8 && c.nr === 32 && c.kc === 256)!;

  it("writes the paper hand schedule's steps on 2 threads", () => {
    const initial = Schedule.initial(instantiate("flux-conv", "paper"));
    const steps = winogradConv(initial, stageState(initial.state, "conv"), wide, 1 << 20, 2)?.steps;
    expect(steps?.map(printTransform)).toEqual(handSchedule().map(printTransform));
  });

  it("offers nothing for a stage that is not a convolution", () => {
    const initial = Schedule.initial(instantiate("flux-conv", "paper"));
    expect(winogradConv(initial, stageState(initial.state, "Y"), wide, 1 << 20, 1)).toBeUndefined();
  });
});
