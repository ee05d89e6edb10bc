/**
 * A one-thread schedule shared out over several threads (src/schedule/share-out.ts): the
 * outermost loop of at least `threads` iterations of every stage at the root made parallel,
 * constant stages (run once in prepare) and stages computed inside others left alone, and
 * the kernel still computes the reference on two threads.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { shareOut } from "../../src/schedule/share-out.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const two = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(two.cacheDir, { recursive: true, force: true }));

const WINOGRAD = [
  "winograd conv",
  "compute_inline conv",
  "compute_inline padded",
  "compute_at conv_Y at Y.o",
];

const parallelSteps = (s: Schedule) =>
  s
    .text()
    .split("\n")
    .filter((l) => l.startsWith("parallel"));

describe("shareOut", () => {
  const program = instantiate("flux-conv", "small");
  const oneThread = Schedule.fromTrace(program, parseTrace(WINOGRAD.join("\n")));

  it("makes the outermost loop of several iterations of each root stage parallel, and verifies", async () => {
    const shared = shareOut(oneThread, 2)!;
    // conv_D's and Y's batch loop n has one iteration: their channel loops are shared.
    expect(parallelSteps(shared)).toEqual([
      "parallel conv_D.c",
      "parallel conv_V.e",
      "parallel conv_M.e",
      "parallel Y.o",
    ]);
    // Not the constant filter transform (prepare) nor its tables, nor conv_Y, computed inside Y.
    expect(shared.text()).not.toMatch(/parallel (conv_U|conv_G|conv_BT|conv_AT|conv_Y)\./);
    const r = await verifySchedule(shared, two);
    expect(r.verified, `error ${r.error}`).toBe(true);
  }, 60_000);

  it("gives nothing on one thread, or where every root stage is parallel already", () => {
    expect(shareOut(oneThread, 1)).toBeUndefined();
    expect(shareOut(shareOut(oneThread, 2)!, 2)).toBeUndefined();
  });

  it("skips loops with fewer iterations than threads", () => {
    // rows=2: the row loop cannot give each of 4 threads a row; the column loop is a reduction for sum_sq.
    const rmsnorm = instantiate("rmsnorm", "small", { rows: 2, cols: 64 });
    const shared = shareOut(Schedule.initial(rmsnorm), 4)!;
    expect(parallelSteps(shared)).toEqual(["parallel Y.j"]);
  });
});
