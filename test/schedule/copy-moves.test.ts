/**
 * Which copies of an operand the enumeration offers: only where an element is read again
 * inside the loop, or where the copy makes a strided read contiguous; a tile read once in
 * its own contiguous layout only costs a store and a load per element.
 */
import { describe, expect, it } from "vitest";
import { candidateMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";

function copyOffers(workload: string, trace: string, stage: string): string[] {
  const program = instantiate(workload, "small");
  return candidateMoves(Schedule.fromTrace(program, parseTrace(trace)), { threads: 1 })
    .filter((t) => (t.kind === "pack" || t.kind === "cache_read") && t.stage === stage)
    .map(printTransform);
}

describe("copy moves", () => {
  it("offers none for a row reduction that reads each element once, contiguously", () => {
    const trace = ["split row_max.j 16 -> ja jv", "cache_write row_max at i"].join("\n");
    expect(copyOffers("softmax", trace, "row_max")).toEqual([]);
  });

  it("offers a copy with reuse inside the loop or a strided read, and no other", () => {
    expect(copyOffers("matmul", "", "C")).toEqual([
      "pack A in C at i",
      "cache_read A in C at i",
      "pack B in C at i",
      "cache_read B in C at i",
      "pack B in C at j",
      "cache_read B in C at j",
      "pack B in C at k",
      "cache_read B in C at k",
    ]);
  });
});
