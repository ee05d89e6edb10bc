import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { candidateMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleSyntaxError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, parseTransform, printTrace, printTransform } from "../../src/schedule/text.ts";
import { listWorkloads, instantiate } from "../../src/workloads/registry.ts";

describe("schedule text form", () => {
  it("round-trips every candidate transformation of every workload", () => {
    for (const w of listWorkloads()) {
      for (const t of candidateMoves(Schedule.initial(instantiate(w.name, "small")))) {
        expect(parseTransform(printTransform(t))).toEqual(t);
      }
    }
  });

  it("fills default names and ignores comments and blank lines", () => {
    const trace = parseTrace(
      "# a comment\n\nsplit C.i 8   # trailing\ntile C.io C.j 2 16\nfuse C.iio C.jo\nrfactor C.k 4\n",
    );
    expect(printTrace(trace)).toBe(
      "split C.i 8 -> io ii\ntile C.io C.j 2 16 -> ioo jo ioi ji\nfuse C.iio C.jo -> iiojo\nrfactor C.k 4 -> ko ki\n",
    );
  });

  it("round-trips arbitrary well-formed lines", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
    fc.assert(
      fc.property(name, name, name, name, fc.integer({ min: 1, max: 4096 }), (s, a, b, c, f) => {
        for (const line of [
          `split ${s}.${a} ${f} -> ${b} ${c}`,
          `reorder ${s} ${a} ${b}`,
          `pack ${a} in ${s} at ${b}`,
          `compute_at ${a} at ${s}.${b}`,
          `cache_write ${s} at ${c}`,
        ]) {
          expect(printTransform(parseTransform(line))).toBe(line);
        }
      }),
    );
  });

  it("explains malformed lines with their line number", () => {
    const bad: [string, RegExp][] = [
      ["vectorise C.i", /unknown transformation 'vectorise'/],
      ["split C.i", /expected 'split STAGE.LOOP FACTOR/],
      ["split C.i 0", /positive integer factor/],
      ["split C.i x", /positive integer factor/],
      ["split Ci 8", /expected STAGE.LOOP/],
      ["split C.i 8 -> a", /expected 2 names/],
      ["pack A to C at k", /expected 'in'/],
      ["parallel C.i -> x", /takes no '->' names/],
      ["tile C.i D.j 4 4", /same stage/],
      ["reorder C i", /at least two loops/],
    ];
    for (const [line, message] of bad) {
      expect(() => parseTrace(`split C.i 4\n${line}`)).toThrow(ScheduleSyntaxError);
      expect(() => parseTrace(`split C.i 4\n${line}`)).toThrow(message);
      expect(() => parseTrace(`split C.i 4\n${line}`)).toThrow(/^line 2: /);
    }
  });
});
