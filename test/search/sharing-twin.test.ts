/** The final round's extra finalists: a schedule's sharing twin (its parallel loops shared the other way) and the known schedules. */
import { describe, expect, it } from "vitest";
import type { Measurement } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { sharingTwin } from "../../src/search/sharing-twin.ts";
import { SHARING_TWIN_SOURCE } from "../../src/search/trials.ts";
import { tune } from "../../src/search/tune.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { ObjectiveCostModel, okMeasurement } from "../support/fakes.ts";

const program = instantiate("rmsnorm", "small", { rows: 256, cols: 64 });
const schedule = (trace: string) => Schedule.fromTrace(program, parseTrace(trace));

/** A random-strategy tune with the given measurements, starting from `known`, with a final round. */
function tuneWith(
  measure: (s: Schedule) => Promise<Measurement>,
  o: { known: Schedule; threads: number; trials: number; count: number; rounds: number },
) {
  return tune({
    program,
    strategy: "random",
    seed: 3,
    budget: { trials: o.trials },
    engine: { measure, measureAll: (ss) => Promise.all(ss.map(measure)) },
    profile: PROFILE,
    threads: o.threads,
    proposers: [],
    costModel: new ObjectiveCostModel(() => 1),
    known: [o.known],
    finalists: { count: o.count, rounds: o.rounds },
  });
}

describe("sharing twin", () => {
  it("hands equal parts out dynamically, and makes dynamic chunks equal parts", () => {
    // 256 rows on two threads: 32 chunks per thread of 4 rows.
    const equal = schedule("split Y.j 16 -> jo jv\nparallel Y.i\nvectorize Y.jv");
    expect(sharingTwin(equal, 2)?.text()).toBe(
      schedule("split Y.j 16 -> jo jv\nparallel Y.i dynamic 4\nvectorize Y.jv").text(),
    );
    const dynamic = schedule("parallel Y.i dynamic 16");
    expect(sharingTwin(dynamic, 2)?.text()).toBe(schedule("parallel Y.i").text());
  });

  it("has none on one thread, without a parallel loop, or for a loop too short for chunks", () => {
    expect(sharingTwin(schedule("parallel Y.i"), 1)).toBeUndefined();
    expect(sharingTwin(schedule("split Y.j 16 -> jo jv"), 2)).toBeUndefined();
    // 8 row blocks of 32: fewer than 32 chunks per thread.
    expect(sharingTwin(schedule("split Y.i 32 -> io ii\nparallel Y.io"), 2)).toBeUndefined();
  });

  it("is measured past the budget and settled beside the finalists on several threads", async () => {
    const known = schedule("parallel Y.i dynamic 16");
    const equalParts = schedule("parallel Y.i").text();
    // The known schedule measures fastest in the search; its twin faster still.
    const times: Record<string, number> = { "": 100, [known.text()]: 2, [equalParts]: 1 };
    const measure = (s: Schedule): Promise<Measurement> => {
      return Promise.resolve(okMeasurement(times[s.text()] ?? 3));
    };
    const r = await tuneWith(measure, { known, threads: 2, trials: 3, count: 2, rounds: 1 });
    expect(r.trials).toHaveLength(4);
    expect(r.trials[3]).toMatchObject({ trial: 4, model: SHARING_TWIN_SOURCE, ms: 1 });
    expect(r.trials[3].trace).toBe(equalParts);
    expect(r.finalists.map((f) => f.trial)).toContain(4);
    expect(r.best.trial).toBe(4);
    expect(r.best.schedule.text()).toBe(equalParts);
  });

  it("measures the known schedules again in the final round even when first measured slow", async () => {
    const known = schedule("split Y.j 16 -> jo jv\nvectorize Y.jv");
    // First measured in a slow minute (9 ms), then at its real speed (1 ms); the rest 3 ms.
    let knownRuns = 0;
    const measure = (s: Schedule): Promise<Measurement> => {
      if (s.text() !== known.text()) return Promise.resolve(okMeasurement(3));
      return Promise.resolve(okMeasurement(knownRuns++ === 0 ? 9 : 1));
    };
    const r = await tuneWith(measure, { known, threads: 1, trials: 6, count: 2, rounds: 2 });
    expect(r.trials[0]).toMatchObject({ trial: 1, ms: 9 });
    expect(r.finalists.map((f) => f.trial)).toContain(1);
    expect(r.best.schedule.text()).toBe(known.text());
  });
});
