import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { chooseNextModel, costPerHit } from "../../src/models/offline/next-model.ts";
import { ExpertProposer, offlineBucket } from "../../src/models/offline/proposers.ts";
import {
  parallelOuter,
  prepareWeights,
  recipesFor,
  registerTile,
  registerTileOfPreparedWeights,
  stagesByWork,
  vectorizeInner,
} from "../../src/models/offline/recipes.ts";
import {
  stepText,
  type ChildView,
  type ModelStatsView,
  type ProposedStep,
} from "../../src/search/proposer.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { Random } from "../../src/util/random.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { context } from "./support/context.ts";

const stats = (
  name: string,
  size: number,
  calls = 0,
  hits = 0,
  alterationsCaused = 0,
): ModelStatsView => ({
  name,
  kind: "offline",
  size,
  calls,
  hits,
  errors: 0,
  courseAlterations: 0,
  alterationsCaused,
  costUsd: 0,
});
const pick = (models: ModelStatsView[], escalate = false) =>
  chooseNextModel(models, new Random(1), 0, escalate);

describe("offline next-model rule", () => {
  it("gives the work to the smallest model while nothing is known", () => {
    expect(pick([stats("large", 70e9), stats("small", 0.5e9), stats("mid", 8e9)])).toBe("small");
  });

  it("charges a small model for the course alterations its regressions triggered", () => {
    const regressing = stats("small", 0.5e9, 40, 12, 14);
    const steady = stats("mid", 8e9, 20, 15, 1);
    expect(costPerHit(regressing, 70e9)).toBeGreaterThan(costPerHit(steady, 70e9));
    expect(pick([regressing, steady, stats("large", 70e9, 15, 12)])).toBe("mid");
    // The same record without the alterations: the small model is cheaper per hit again.
    expect(pick([stats("small", 0.5e9, 40, 12, 0), steady, stats("large", 70e9, 15, 12)])).toBe(
      "small",
    );
  });

  it("gives the largest model at least a fifth of the calls, even when a small one is cheaper per hit", () => {
    const small = stats("small", 0.5e9, 40, 30);
    expect(costPerHit(small, 70e9)).toBeLessThan(costPerHit(stats("large", 70e9, 5, 5), 70e9));
    expect(pick([small, stats("large", 70e9, 5, 5)])).toBe("large");
    expect(pick([small, stats("large", 70e9, 10, 10)])).toBe("small");
  });

  it("keeps the largest model to its share of the calls, also when escalating", () => {
    const small = stats("small", 0.5e9, 40, 0, 20);
    expect(pick([small, stats("large", 70e9, 5, 5)])).toBe("large");
    expect(pick([small, stats("large", 70e9, 5, 5)], true)).toBe("large");
    expect(pick([small, stats("large", 70e9, 30, 30)])).toBe("small");
    expect(pick([small, stats("large", 70e9, 30, 30)], true)).toBe("small");
  });
});

describe("offline recipes", () => {
  it("vectorizes an elementwise stage whose innermost loop is already the vector loop", () => {
    const schedule = Schedule.initial(instantiate("flux-attention", "small"));
    const exp = stagesByWork(schedule).find((st) => st.name === "exp_scores")!;
    const recipe = vectorizeInner(schedule, exp, {
      mr: 4,
      nr: 16,
      width: 16,
      kc: 64,
      maxRows: 8,
      widestNr: 16,
      widths: [16, 8, 4],
    });
    expect(recipe?.steps.map(printTransform)).toEqual([
      "split exp_scores.t 16 -> to tv",
      "vectorize exp_scores.tv",
    ]);
  });

  const tile = { mr: 4, nr: 16, width: 16, kc: 64, maxRows: 4, widestNr: 16, widths: [16, 8, 4] };

  it("prepares a weight that is strided along the vector loop instead of packing it", () => {
    // The router weight is stored [experts, hidden]: strided along the vectorized expert loop.
    const schedule = Schedule.initial(instantiate("deepseek-r1-moe", "small"));
    const router = stagesByWork(schedule).find((st) => st.name === "router_logits")!;
    const steps = registerTile(schedule, router, tile)!.steps.map(printTransform);
    expect(steps).toContain("prepare Wr in router_logits");
    expect(steps.filter((t) => t.startsWith("pack Wr"))).toEqual([]);
  });

  it("prepares the weights of a register-tiled contraction, and only the weights", () => {
    const initial = Schedule.initial(instantiate("llama4-scout-mlp", "small"));
    const tiled = registerTile(
      initial,
      stagesByWork(initial).find((st) => st.name === "gate_proj")!,
      tile,
    )!.schedule;
    const gate = tiled.state.stages.find((st) => st.name === "gate_proj")!;
    expect(prepareWeights(tiled, gate)?.steps.map(printTransform)).toEqual([
      "prepare Wg in gate_proj",
    ]);
    const act = tiled.state.stages.find((st) => st.name === "act")!;
    expect(prepareWeights(tiled, act)).toBeUndefined();
  });

  it("offers each register tile of a weight contraction also with its weights prepared", () => {
    const initial = Schedule.initial(instantiate("llama4-scout-mlp", "small"));
    const up = stagesByWork(initial).find((st) => st.name === "up_proj")!;
    const plain = registerTile(initial, up, tile)!;
    const prepared = registerTileOfPreparedWeights(initial, up, tile)!;
    expect(prepared.steps.map(printTransform)).toEqual([
      ...plain.steps.map(printTransform),
      "prepare Wu in up_proj",
    ]);
    const names = recipesFor(initial, up, tile, 1).map((r) => r.name);
    expect(names).toContain(plain.name);
    expect(names).toContain(prepared.name);
  });

  it("makes the outermost loop of more than one iteration parallel, past a batch of one", () => {
    // flux-conv's bias add: n (one image), o, y, x.
    const initial = Schedule.initial(instantiate("flux-conv", "paper"));
    const bias = initial.state.stages.find((st) => st.name === "Y")!;
    expect(parallelOuter(initial, bias, 2)?.steps.map(printTransform)).toEqual(["parallel Y.o"]);
    expect(parallelOuter(initial, bias, 1)).toBeUndefined();
  });
});

describe("offline expert", () => {
  const expert = () => offlineBucket(1).find((p) => p instanceof ExpertProposer)!;

  it("proposes the recipe the cost model ranks best", async () => {
    // Scalar expf calls dominate this attention; the cost model credits vector exp.
    const schedule = Schedule.initial(instantiate("flux-attention", "small"));
    const { action } = await expert().propose(
      context({
        schedule,
        legalMoves: () => legalMoves(schedule, { threads: 1 }),
        predictMs: (s) => analyticEstimateMs(s, PROFILE),
      }),
    );
    expect(action.steps.some((t) => /^vectorize exp_scores\./.test(stepText(t)))).toBe(true);
    const applied = action.steps.reduce(
      (s, t) => (t.kind === "unreadable" ? s : s.apply(t)),
      schedule,
    );
    expect(analyticEstimateMs(applied, PROFILE)).toBeLessThan(
      analyticEstimateMs(schedule, PROFILE),
    );
  });

  it("does not re-propose a child measured slower than the node, but may a faster one", async () => {
    const program = instantiate("flux-attention", "small");
    const schedule = Schedule.initial(program);
    const moves = legalMoves(schedule, { threads: 1 });
    const child = (trace: string, ms: number): ChildView => ({
      trace,
      ms,
      measured: true,
      score: 0,
    });
    const at = (children: ChildView[]) =>
      context({
        schedule,
        traceText: schedule.text(),
        node: { ms: 1, measured: true, score: 0 },
        legalMoves: () => moves,
        predictMs: (s) => analyticEstimateMs(s, PROFILE),
        children,
      });
    const traceOf = (steps: readonly ProposedStep[]) =>
      Schedule.fromTrace(program, parseTrace(steps.map((t) => `${stepText(t)}\n`).join(""))).text();
    for (const i of [0, 1, 2]) {
      // A fresh proposer with the same seed answers the same context the same way.
      const first = traceOf((await offlineBucket(1)[i].propose(at([]))).action.steps);
      const afterGain = await offlineBucket(1)[i].propose(at([child(first, 0.5)]));
      expect(traceOf(afterGain.action.steps), `proposer ${i}`).toBe(first);
      const afterLoss = await offlineBucket(1)[i].propose(at([child(first, 2)]));
      expect(traceOf(afterLoss.action.steps), `proposer ${i}`).not.toBe(first);
    }
    // The random proposer picks the one legal move that did not measure slower.
    const left = moves[moves.length - 1];
    const { action } = await offlineBucket(1)[0].propose(
      at(moves.slice(0, -1).map((m) => child(m.schedule.text(), 2))),
    );
    expect(action.steps).toEqual([left.transform]);
  });

  it("hands the child to the largest model when nothing it knows beats the node", async () => {
    const models = [stats("small", 8e9, 20, 15), stats("large", 70e9, 2, 2)];
    const { action } = await expert().propose(context({ models, predictMs: () => 1 }));
    expect(action.steps.length).toBeGreaterThan(0);
    expect(action.nextModel).toBe("large");
  });
});
