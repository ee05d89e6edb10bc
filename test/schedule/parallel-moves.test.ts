/**
 * Which loops the enumeration offers to make parallel: not a stage's innermost loop while
 * an outer loop has iterations to share (it could no longer be split to vectorize, and
 * the threads would fork once per outer row), but the innermost where it is the only one.
 */
import { describe, expect, it } from "vitest";
import { candidateMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";

const parallelOffers = (rows: number, cols: number) =>
  candidateMoves(Schedule.initial(instantiate("rmsnorm", "small", { rows, cols })), {
    threads: 2,
  })
    .filter((t) => t.kind === "parallel" && t.chunk === undefined)
    .map(printTransform);

describe("parallel moves", () => {
  it("shares the rows, not the columns inside them", () => {
    expect(parallelOffers(128, 40)).toEqual(["parallel sum_sq.i", "parallel Y.i"]);
  });

  it("shares the columns of a single row", () => {
    expect(parallelOffers(1, 4096)).toEqual(["parallel Y.j"]);
  });
});
