/** Every workload's hand-written schedule verifies on every target that runs here (aarch64 under qemu). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { TARGETS } from "../../src/target/targets.ts";
import { instantiate, listWorkloads } from "../../src/workloads/registry.ts";
import { inBatches } from "../support/toolchain.ts";
import { targetEvalOptions } from "./support.ts";

describe.each(TARGETS.map((t) => t.name))("the example schedules on %s", (name) => {
  const opts = targetEvalOptions(name);
  it.skipIf(opts === undefined)(
    "verify against the reference",
    async () => {
      const workloads = listWorkloads().map((w) => w.name);
      const results = await inBatches(workloads, 2, async (workload) => {
        const program = instantiate(workload, "small", {});
        const text = readFileSync(
          new URL(`../../examples/schedules/${workload}-small.sched`, import.meta.url),
          "utf8",
        );
        const r = await verifySchedule(Schedule.fromTrace(program, parseTrace(text)), opts!);
        return { workload, verified: r.verified, error: r.error };
      });
      expect(results.filter((r) => !r.verified)).toEqual([]);
      expect(results).toHaveLength(12);
    },
    600_000,
  );
});
