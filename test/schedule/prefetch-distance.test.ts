import { describe, expect, it } from "vitest";
import { parseTrace } from "../../src/schedule/text.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { prefetchDistance } from "../../src/schedule/prefetch-distance.ts";
import { instantiate } from "../../src/workloads/registry.ts";

const stageOf = (s: Schedule, name: string) => s.state.stages.find((x) => x.name === name)!;

describe("prefetch distance", () => {
  it("looks far enough ahead along the rows to cover 8 KiB of the input, 1 to 4 steps", () => {
    const rows = (cols: number) => {
      const program = instantiate("rmsnorm", "small", { rows: 64, cols });
      return prefetchDistance(program, stageOf(Schedule.initial(program), "Y"), "X", "i");
    };
    expect(rows(4096)).toBe(1); // 16 KiB rows (rmsnorm at paper size)
    expect(rows(2048)).toBe(1);
    expect(rows(1024)).toBe(2); // 4 KiB rows (softmax at paper size)
    expect(rows(700)).toBe(3);
    expect(rows(100)).toBe(4);
  });

  it("counts a block of rows as one step, and the rows of each thread's part", () => {
    const program = instantiate("rmsnorm", "small", { rows: 64, cols: 1024 });
    const blocks = Schedule.fromTrace(program, parseTrace("split Y.i 2 -> io ib"));
    expect(prefetchDistance(program, stageOf(blocks, "Y"), "X", "io")).toBe(1);
    const parts = Schedule.fromTrace(program, parseTrace("split Y.i 32 -> it ir\nparallel Y.it"));
    expect(prefetchDistance(program, stageOf(parts, "Y"), "X", "ir")).toBe(2);
  });

  it("gives softmax's exps, computed in the output's row, two rows ahead at paper size", () => {
    const program = instantiate("softmax", "paper");
    const s = Schedule.fromTrace(
      program,
      parseTrace(
        [
          "split exps.j 16 -> jo jv",
          "vectorize exps.jv",
          "compute_at row_sum at Y.i",
          "compute_at exps at Y.i",
        ].join("\n"),
      ),
    );
    expect(prefetchDistance(program, stageOf(s, "exps"), "X", "i")).toBe(2);
  });
});
