/** The lookahead's whole-program candidate: recipes chained stage after stage. */
import { describe, expect, it } from "vitest";
import { chainRecipes } from "../../src/models/offline/recipe-chain.ts";
import { ExpertProposer, LookaheadProposer } from "../../src/models/offline/proposers.ts";
import type { AppliedRecipe } from "../../src/models/offline/recipes.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { applySteps } from "../../src/search/apply-steps.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";
import { context } from "./support/context.ts";

const info = (name: string, size: number) => ({
  name,
  kind: "offline" as const,
  size,
  description: "test",
});

/** Stages given a register tile (cache_write) in a trace: each one is predicted 10% faster. */
const tiledStages = (s: Schedule) =>
  new Set([...s.text().matchAll(/^cache_write (\w+)/gm)].map((m) => m[1])).size;
const predictMs = (s: Schedule) => 10 - tiledStages(s);

const mlp = () => Schedule.initial(instantiate("llama4-scout-mlp", "small"));
const ctxAt = (schedule: Schedule) =>
  context({
    schedule,
    legalMoves: () => legalMoves(schedule, { threads: 1 }),
    predictMs,
    children: [],
  });

describe("recipe chain", () => {
  it("gives the lookahead one proposal that tiles every projection of the MLP", async () => {
    const schedule = mlp();
    const { action } = await new LookaheadProposer(info("lookahead", 70e9), 1).propose(
      ctxAt(schedule),
    );
    const applied = applySteps(schedule, action.steps, () => undefined);
    expect(applied.errors).toBe(0);
    expect(tiledStages(applied.schedule)).toBe(3);
  });

  it("leaves the expert one stage per call", async () => {
    const schedule = mlp();
    const { action } = await new ExpertProposer(info("expert", 8e9), 1).propose(ctxAt(schedule));
    expect(tiledStages(applySteps(schedule, action.steps, () => undefined).schedule)).toBe(1);
  });

  it("stops where a link gains too little, and at its length", () => {
    const from = mlp();
    const recipe = (name: string, schedule: Schedule): AppliedRecipe => ({
      name,
      schedule,
      steps: [],
    });
    const a = recipe("a", Schedule.initial(instantiate("matmul", "small")));
    const b = recipe("b", Schedule.initial(instantiate("softmax", "small")));
    const c = recipe("c", Schedule.initial(instantiate("rmsnorm", "small")));
    const next = new Map([
      [a.schedule, [b]],
      [b.schedule, [c]],
      [c.schedule, []],
    ]);
    const times = (ms: [number, number, number, number]) => (s: Schedule) =>
      s === from ? ms[0] : s === a.schedule ? ms[1] : s === b.schedule ? ms[2] : ms[3];
    const chain = (ms: [number, number, number, number], maxLinks = 6) =>
      chainRecipes({
        first: [a],
        recipesAt: (s) => next.get(s) ?? [],
        predictMs: times(ms),
        from,
        maxLinks,
      })?.name;
    expect(chain([10, 9, 8, 7])).toBe("chain of a, b, c");
    expect(chain([10, 9, 8, 7], 2)).toBe("chain of a, b");
    expect(chain([10, 9, 8.9, 7])).toBeUndefined();
    expect(chain([10, 9.9, 8, 7])).toBeUndefined();
  });

  it("ends with the finishing recipe where it is not predicted slower", () => {
    const from = mlp();
    const matmul = Schedule.initial(instantiate("matmul", "small"));
    const finished = Schedule.initial(instantiate("softmax", "small"));
    const a: AppliedRecipe = { name: "a", schedule: matmul, steps: [] };
    const chain = (finishedMs: number) =>
      chainRecipes({
        first: [a],
        recipesAt: () => [],
        predictMs: (s) => (s === from ? 10 : s === matmul ? 9 : finishedMs),
        from,
        maxLinks: 6,
        finish: (s) => (s === matmul ? { name: "f", schedule: finished, steps: [] } : undefined),
      })?.name;
    expect(chain(9)).toBe("chain of a, f");
    expect(chain(9.1)).toBeUndefined();
  });

  it("compiles and matches the reference", async () => {
    const schedule = Schedule.initial(
      instantiate("llama4-scout-mlp", "small", { T: 8, H: 48, F: 40 }),
    );
    const { action } = await new LookaheadProposer(info("lookahead", 70e9), 1).propose(
      ctxAt(schedule),
    );
    const applied = applySteps(schedule, action.steps, () => undefined);
    expect(tiledStages(applied.schedule)).toBeGreaterThanOrEqual(2);
    const v = await verifySchedule(applied.schedule, freshEvalOptions());
    expect(v.verified, `error ${v.error}`).toBe(true);
  }, 120_000);
});
