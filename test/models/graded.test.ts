import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { gradedOfflineBucket } from "../../src/models/offline/graded.ts";
import { offlineBucket } from "../../src/models/offline/proposers.ts";
import { stepText, type Proposer } from "../../src/search/proposer.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { context } from "./support/context.ts";

const schedule = Schedule.initial(instantiate("llama3-8b-attention", "small"));
const moves = legalMoves(schedule, { threads: 1 });

/** Asks a proposer once on the unscheduled attention; counts the cost-model predictions it made. */
async function ask(p: Proposer): Promise<{ transformations: readonly string[]; scored: number }> {
  let scored = 0;
  const { action } = await p.propose(
    context({
      schedule,
      traceText: schedule.text(),
      legalMoves: () => moves,
      predictMs: (s: Schedule) => {
        scored++;
        return analyticEstimateMs(s, PROFILE);
      },
      models: gradedOfflineBucket(1).map((m) => ({
        name: m.info.name,
        kind: m.info.kind,
        size: m.info.size,
        calls: 0,
        hits: 0,
        errors: 0,
        courseAlterations: 0,
        alterationsCaused: 0,
        costUsd: 0,
      })),
      children: [],
    }),
  );
  return { transformations: action.steps.map(stepText), scored };
}

describe("graded offline bucket", () => {
  it("holds eight offline proposers of distinct, increasing sizes, the default three among them", () => {
    const bucket = gradedOfflineBucket(1);
    expect(bucket).toHaveLength(8);
    expect(new Set(bucket.map((p) => p.info.name)).size).toBe(8);
    const sizes = bucket.map((p) => p.info.size);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(new Set(sizes).size).toBe(8);
    for (const p of bucket) expect(p.info.kind).toBe("offline");
    const names = bucket.map((p) => p.info.name);
    for (const p of offlineBucket(1)) expect(names).toContain(p.info.name);
  });

  it("answers like the default bucket's proposers of the same name, draw for draw", async () => {
    const graded = gradedOfflineBucket(3);
    for (const p of offlineBucket(3)) {
      const twin = graded.find((g) => g.info.name === p.info.name)!;
      for (let call = 0; call < 3; call++)
        expect((await ask(twin)).transformations).toEqual((await ask(p)).transformations);
    }
  });

  it("scores more candidates per call the larger the grade, and every grade proposes a legal step", async () => {
    const scored: number[] = [];
    for (const p of gradedOfflineBucket(1)) {
      const r = await ask(p);
      expect(r.transformations.length, p.info.name).toBeGreaterThan(0);
      let s = schedule;
      for (const t of r.transformations) {
        const step = s.tryApply(parseTransform(t));
        expect(step.ok, `${p.info.name}: ${t}`).toBe(true);
        if (step.ok) s = step.schedule;
      }
      scored.push(r.scored);
    }
    const costModelGrades = scored.slice(1);
    expect(costModelGrades).toEqual([...costModelGrades].sort((a, b) => a - b));
    expect(costModelGrades.at(-1)).toBeGreaterThan(costModelGrades[0] * 4);
  });
});
