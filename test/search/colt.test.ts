import { describe, expect, it } from "vitest";
import {
  ProposerError,
  type JointAction,
  type ModelInfo,
  type Proposal,
  type ProposalContext,
  type Proposer,
} from "../../src/search/proposer.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import type { Transform } from "../../src/schedule/transform.ts";
import { readStep } from "../../src/models/llm/steps.ts";
import {
  ColtSearch,
  KNOWN_SCHEDULE_SOURCE,
  type ColtOptions,
  type ExpansionEvent,
} from "../../src/search/colt.ts";
import { ROUND_LENGTH } from "../../src/search/measure-round.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { TuningSession } from "../../src/search/session.ts";
import type { Budget } from "../../src/search/trials.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { ObjectiveCostModel, ObjectiveRunner, type Objective } from "../support/fakes.ts";

const program = instantiate("matmul", "small");

class Scripted implements Proposer {
  readonly contexts: ProposalContext[] = [];
  constructor(
    readonly info: ModelInfo,
    private readonly script: (ctx: ProposalContext, call: number) => JointAction,
  ) {}
  async propose(ctx: ProposalContext): Promise<Proposal> {
    this.contexts.push(ctx);
    const action = this.script(ctx, this.contexts.length);
    return { action, usage: { tokensIn: 10, tokensOut: 5, costUsd: 0, latencyMs: 0 } };
  }
}

const info = (name: string, size: number): ModelInfo => ({
  name,
  kind: "offline",
  size,
  description: name,
});
const count = (trace: string, word: string) =>
  trace.split("\n").filter((l) => l.startsWith(word)).length;
/** Splits make things slower, unrolls and parallel loops faster. */
const objective: Objective = (t) =>
  100 * 1.1 ** count(t, "split") * 0.8 ** count(t, "unroll") * 0.7 ** count(t, "parallel");

/**
 * The call-th legal move of a kind (cycling), so repeated calls at one node differ; parallel
 * loops in their static form only, so the scripts walk the trees they were written for.
 */
const propose = (ctx: ProposalContext, kind: string, next: string, call = 0): JointAction => {
  const ofKind = ctx
    .legalMoves()
    .filter((m) => m.transform.kind === kind && !("chunk" in m.transform && m.transform.chunk));
  const m = ofKind.length > 0 ? ofKind[call % ofKind.length] : ctx.legalMoves()[0];
  return { steps: [m.transform], nextModel: next };
};

/** A session whose measurements and predictions both follow `objective` (baseline 100 ms). */
function objectiveSession(
  objective: Objective,
  budget: Budget,
  runner: ObjectiveRunner = new ObjectiveRunner(objective),
): TuningSession {
  return new TuningSession({
    program,
    strategy: "colt",
    runner,
    costModel: new ObjectiveCostModel(objective),
    budget,
    baselineMs: 100,
    rooflineMs: 1,
    threads: 2,
  });
}

async function runColt(
  proposers: Proposer[],
  calls: number,
  extra: Partial<ConstructorParameters<typeof ColtSearch>[1]> = {},
  budget: { tokens?: number; usd?: number } = {},
) {
  const session = objectiveSession(objective, { trials: 100, proposerCalls: calls, ...budget });
  const search = new ColtSearch(session, { proposers, expansionsPerRound: 1000, ...extra }, 7);
  const result = await search.run(Schedule.initial(program));
  return { session, result };
}

/** Replays the course-alteration rule over the event log and checks the search followed it. */
function checkCourseAlterations(events: readonly ExpansionEvent[], small: string, k: number) {
  let streak = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.courseAlteration || e.model !== small) continue;
    const regressed = e.childMs > e.parentMs;
    streak = regressed ? streak + 1 : 0;
    const next = events[i + 1];
    const due = regressed && streak % k === 0;
    if (next) expect(next.courseAlteration, `event ${i}: streak ${streak}`).toBe(due);
    if (due && next) expect(e.replaced).toBe(next.childMs <= e.childMs);
  }
}

describe("COLT search", () => {
  it("escalates to the largest model on every K-th regression and keeps its child unless worse", async () => {
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, "split", "small", call),
    );
    const large = new Scripted(info("large", 70e9), (ctx) => propose(ctx, "parallel", "small"));
    const { result } = await runColt([small, large], 13, {
      rootModel: "small",
      courseAlterationK: 2,
    });
    const alterations = result.expansions.filter((e) => e.courseAlteration);
    expect(alterations.length).toBe(4);
    expect(alterations.every((e) => e.model === "large")).toBe(true);
    const largeStats = result.models.find((m) => m.info.name === "large")!;
    expect(largeStats.courseAlterations).toBe(4);
    expect(largeStats.calls).toBe(4);
    const smallStats = result.models.find((m) => m.info.name === "small")!;
    expect(smallStats.alterationsCaused).toBe(4);
    expect(largeStats.alterationsCaused).toBe(0);
    expect(result.expansions.filter((e) => e.replaced)).toHaveLength(4);
    checkCourseAlterations(result.expansions, "small", 2);
    // The large model saw the small model's proposal and both scores.
    const rejected = large.contexts[0].rejected!;
    expect(rejected.model).toBe("small");
    expect(rejected.steps[0].kind).toBe("split");
    expect(rejected.childMs).toBeGreaterThan(rejected.parentMs);
  });

  it("keeps the small model's child when the large model's alternative is worse", async () => {
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, "split", "small", call),
    );
    // Two splits of different loops: always slower than the small model's single split.
    const large = new Scripted(info("large", 70e9), (ctx) => {
      const splits = ctx.legalMoves().filter((m) => m.transform.kind === "split");
      const loops = [
        ...new Set(splits.map((m) => (m.transform.kind === "split" ? m.transform.loop : ""))),
      ];
      const pick = loops
        .slice(0, 2)
        .map((l) => splits.find((m) => m.transform.kind === "split" && m.transform.loop === l)!);
      return { steps: pick.map((m) => m.transform), nextModel: "small" };
    });
    const { result } = await runColt([small, large], 9, {
      rootModel: "small",
      courseAlterationK: 2,
    });
    expect(result.courseAlterations).toBeGreaterThan(0);
    expect(result.expansions.some((e) => e.replaced)).toBe(false);
    checkCourseAlterations(result.expansions, "small", 2);
  });

  it("resets the regression streak when a small model's child does not regress", async () => {
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, call % 2 === 1 ? "split" : "parallel", "small", call),
    );
    const large = new Scripted(info("large", 70e9), (ctx) => propose(ctx, "parallel", "small"));
    const { result } = await runColt([small, large], 10, {
      rootModel: "small",
      courseAlterationK: 2,
    });
    expect(result.courseAlterations).toBe(0);
    expect(large.contexts).toHaveLength(0);
  });

  it("counts invalid transformations and unknown next models as errors and falls back", async () => {
    const sloppy = new Scripted(info("sloppy", 1e9), () => ({
      steps: ["vectorise everything", "split C.nope 4"].map(readStep),
      nextModel: "gpt-imaginary",
    }));
    const steady = new Scripted(info("steady", 8e9), (ctx, call) =>
      propose(ctx, "parallel", "steady", call),
    );
    const { result, session } = await runColt([sloppy, steady], 6, {
      rootModel: "sloppy",
      courseAlterationK: 0,
    });
    const stats = result.models.find((m) => m.info.name === "sloppy")!;
    expect(stats.calls).toBeGreaterThan(0);
    expect(stats.errors).toBe(3 * stats.calls);
    // Fallbacks still grew the tree: every call produced a child with random legal moves.
    expect(result.expansions.filter((e) => e.model === "sloppy").every((e) => e.errors === 3)).toBe(
      true,
    );
    expect(result.treeSize).toBeGreaterThan(1 + stats.calls - 1);
    expect(session.trials.length).toBeGreaterThan(0);
  });

  it("survives a proposer that throws, counting each failure as an error", async () => {
    const broken: Proposer = {
      info: info("broken", 1e9),
      propose: async () => {
        throw new ProposerError("broken", "HTTP 500");
      },
    };
    const { result } = await runColt([broken], 5, { singleModel: true });
    const stats = result.models[0];
    expect(stats.calls).toBe(5);
    expect(stats.errors).toBe(5);
    expect(result.treeSize).toBeGreaterThan(1);
  });

  it("shares one tree: a node proposed by one model is expanded by the model it named", async () => {
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, "parallel", "large", call),
    );
    const large = new Scripted(info("large", 70e9), (ctx, call) =>
      propose(ctx, "split", "small", call),
    );
    await runColt([small, large], 8, { rootModel: "small" });
    const expandedByLarge = large.contexts.filter((c) => c.purpose === "expand");
    expect(expandedByLarge.length).toBeGreaterThan(0);
    expect(
      expandedByLarge.every((c) => c.ancestorModels[c.ancestorModels.length - 1] === "small"),
    ).toBe(true);
    const expandedBySmall = small.contexts.slice(1);
    expect(
      expandedBySmall.some(
        (c) => c.ancestorModels.includes("large") && c.ancestorModels.includes("small"),
      ),
    ).toBe(true);
  });

  it("grafts the database's known schedule under the root and extends it", async () => {
    const moves = (sch: Schedule, kind: string) =>
      legalMoves(sch, { threads: 2 }).find((m) => m.transform.kind === kind)!.schedule;
    const known = moves(moves(Schedule.initial(program), "parallel"), "reorder");
    const session = objectiveSession(objective, { trials: 100, proposerCalls: 6 });
    await session.measure([{ schedule: known, model: KNOWN_SCHEDULE_SOURCE }]);
    const large = new Scripted(info("large", 70e9), (ctx, call) =>
      propose(ctx, "split", "large", call),
    );
    await new ColtSearch(session, { proposers: [large] }, 7).run(Schedule.initial(program), [
      known,
    ]);
    // Splits alone never build the known program: it was expanded because it was grafted.
    const atKnown = large.contexts.filter((c) => c.traceText === known.text());
    expect(atKnown.length).toBeGreaterThan(0);
    expect(atKnown[0].ancestorModels).toEqual([KNOWN_SCHEDULE_SOURCE]);
    expect(atKnown[0].node).toMatchObject({ measured: true, ms: objective(known.text()) });
    expect(session.trials.filter((t) => t.trace.startsWith(known.text())).length).toBeGreaterThan(
      1,
    );
  });

  it("measures a promising node below unmeasured ones, any other only once its parent is measured", async () => {
    /** Each trial's trace and whether its parent (the trace without its last step) was measured before it. */
    const trialsOf = async (
      objective: Objective,
      next: (ctx: ProposalContext, call: number) => Transform,
    ) => {
      const session = objectiveSession(objective, { trials: 12 });
      // One transformation per call, so a node's parent is its trace without the last line.
      const one = new Scripted(info("one", 70e9), (ctx, call) => ({
        steps: [next(ctx, call)],
        nextModel: "one",
      }));
      await new ColtSearch(session, { proposers: [one], measurePerRound: 1, epsilon: 0 }, 7).run(
        Schedule.initial(program),
      );
      const measured = new Set([""]);
      return session.trials.map((t) => {
        const lines = t.trace.split("\n").filter(Boolean);
        const parent = lines
          .slice(0, -1)
          .map((l) => `${l}\n`)
          .join("");
        const parentMeasured = measured.has(parent);
        measured.add(t.trace);
        return { trace: t.trace, parentMeasured };
      });
    };
    const anyMove = (ctx: ProposalContext, call: number) => {
      const moves = ctx.legalMoves();
      return moves[(call * 7) % moves.length].transform;
    };
    // Every step makes the program faster: the deepest node is the most promising.
    const deeper = await trialsOf(
      (t) => 100 * 0.97 ** t.split("\n").filter(Boolean).length,
      anyMove,
    );
    expect(deeper).toHaveLength(12);
    expect(deeper.some((t) => !t.parentMeasured)).toBe(true);
    // A split makes it 3x slower, each unroll after it a little faster: nothing is
    // promising, and the rounds that measure anyway take only nodes whose parent is
    // measured, although the deepest predict fastest.
    const slow = await trialsOf(
      (t) => 100 * 3 ** count(t, "split") * 0.99 ** count(t, "unroll"),
      (ctx, call) =>
        propose(ctx, ctx.traceText.includes("split") ? "unroll" : "split", "one", call)
          .steps[0] as Transform,
    );
    expect(slow).toHaveLength(12);
    for (const t of slow) expect(t.parentMeasured, t.trace).toBe(true);
  });

  it("defers a round whose candidates all predict far slower than the best, at most twice in a row", async () => {
    // A split makes the program three times slower, a parallel loop a little faster.
    const splitsAreSlow: Objective = (t) =>
      100 * 3 ** count(t, "split") * 0.9 ** count(t, "parallel");
    /** Expansions made before the first trial, and the first trial's trace. */
    const firstTrial = async (slowCalls: number) => {
      const runner = new ObjectiveRunner(splitsAreSlow);
      const session = objectiveSession(splitsAreSlow, { trials: 4 }, runner);
      const proposer = new Scripted(info("one", 70e9), (ctx, call) =>
        propose(ctx, call <= slowCalls ? "split" : "parallel", "one", call),
      );
      let expansions = 0;
      await new ColtSearch(
        session,
        {
          proposers: [proposer],
          roundCost: 1,
          measurePerRound: 1,
          epsilon: 0,
          onIteration: () => (expansions += runner.measured.length === 0 ? 1 : 0),
        },
        7,
      ).run(Schedule.initial(program));
      return { expansions, trace: runner.measured[0] };
    };
    // A slow first child: its round waits, the next measures the fast second child.
    const waited = await firstTrial(1);
    expect(waited.expansions).toBe(2);
    expect(count(waited.trace, "parallel")).toBe(1);
    // Only slow children: after two rounds in a row without a candidate, the third measures anyway.
    const capped = await firstTrial(Infinity);
    expect(capped.expansions).toBe(3);
    expect(count(capped.trace, "split")).toBe(1);
  });

  describe("measurement rounds", () => {
    /** Expansions before the first measurement round. */
    const firstRound = async (
      proposers: Proposer[],
      rootModel: string,
      length: Partial<ColtOptions> = { roundCost: 4, expansionsPerRound: 16 },
    ) => {
      const runner = new ObjectiveRunner(objective);
      const session = objectiveSession(objective, { trials: 8 }, runner);
      let before = 0;
      const search = new ColtSearch(
        session,
        {
          proposers,
          rootModel,
          ...length,
          courseAlterationK: 0,
          onIteration: () => (before += runner.measured.length === 0 ? 1 : 0),
        },
        7,
      );
      await search.run(Schedule.initial(program));
      return before;
    };
    /** The call-th legal move: every call a different program. */
    const anyMove = (name: string, size: number) =>
      new Scripted(info(name, size), (ctx, call) => {
        const moves = ctx.legalMoves();
        return {
          steps: [moves[call % moves.length].transform],
          nextModel: name,
        };
      });

    it("can also be budgeted in proposer cost, so cheap models expand more per round", async () => {
      expect(await firstRound([anyMove("large", 64e9)], "large")).toBe(4);
      // A call of a 64x smaller model costs 1/64 of a large one: the expansion cap ends its round.
      expect(await firstRound([anyMove("small", 1e9), anyMove("large", 64e9)], "small")).toBe(16);
      // Half the largest size: 8 calls make the round's cost of 4.
      expect(await firstRound([anyMove("half", 32e9), anyMove("large", 64e9)], "half")).toBe(8);
    });

    it("last ROUND_LENGTH expansions by default, whatever models make them", async () => {
      const defaults = {};
      const { expansions } = ROUND_LENGTH;
      expect(await firstRound([anyMove("large", 64e9)], "large", defaults)).toBe(expansions);
      // Cheap calls buy no longer rounds: COLT makes about as many calls as MCTS.
      expect(
        await firstRound([anyMove("small", 1e9), anyMove("large", 64e9)], "small", defaults),
      ).toBe(expansions);
      expect(
        await firstRound([anyMove("half", 32e9), anyMove("large", 64e9)], "half", {
          singleModel: true,
        }),
      ).toBe(expansions);
    });
  });

  it("stops, saying so, when its proposals only repeat programs already measured", async () => {
    // Swapping two loops back and forth: each new trace lowers to one of two programs.
    const toggler = new Scripted(info("toggler", 8e9), (ctx) => {
      const swap = ctx.legalMoves().find((m) => m.transform.kind === "reorder");
      return { steps: [swap!.transform], nextModel: "toggler" };
    });
    const { session, result } = await runColt([toggler], 100_000, { expansionsPerRound: 4 });
    expect(result.stalled).toBe(true);
    expect(session.trials.length).toBeLessThan(100);
  });

  it("is deterministic for a seed", async () => {
    const make = () => [
      new Scripted(info("small", 1e9), (ctx, call) =>
        propose(ctx, call % 3 ? "split" : "unroll", call % 2 ? "small" : "large"),
      ),
      new Scripted(info("large", 70e9), (ctx) => propose(ctx, "unroll", "small")),
    ];
    const a = await runColt(make(), 12);
    const b = await runColt(make(), 12);
    expect(a.result.expansions).toEqual(b.result.expansions);
    expect(a.session.trials.map((t) => t.trace)).toEqual(b.session.trials.map((t) => t.trace));
  });

  it("stops proposing once the token budget is spent and measures what the tree holds", async () => {
    // Every scripted call costs 15 tokens: the third call reaches a budget of 45.
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, "split", "small", call),
    );
    const { result, session } = await runColt([small], 100, { singleModel: true }, { tokens: 45 });
    expect(result.models[0].calls).toBe(3);
    expect(result.models[0].tokensIn + result.models[0].tokensOut).toBe(45);
    expect(session.trials.length).toBe(3);
  });
});

describe("COLT levers (issue 18)", () => {
  /** The trace without its last step: one step per call, so the node the event expanded. */
  const parentTrace = (trace: string) =>
    trace
      .split("\n")
      .filter(Boolean)
      .slice(0, -1)
      .map((l) => `${l}\n`)
      .join("");

  it("escalates on measured regressions, not predicted ones, when escalation is 'measured'", async () => {
    // The cost model predicts every split 10% faster; measured, each is 10% slower.
    const predicted: Objective = (t) => 100 * 0.9 ** count(t, "split");
    const measured: Objective = (t) => 100 * 1.1 ** count(t, "split");
    const run = async (escalation: ColtOptions["escalation"]) => {
      const small = new Scripted(info("small", 1e9), (ctx, call) =>
        propose(ctx, "split", "small", call),
      );
      const large = new Scripted(info("large", 70e9), (ctx) => propose(ctx, "parallel", "small"));
      const session = objectiveSession(
        predicted,
        { trials: 100, proposerCalls: 24 },
        new ObjectiveRunner(measured),
      );
      const result = await new ColtSearch(
        session,
        {
          proposers: [small, large],
          rootModel: "small",
          courseAlterationK: 2,
          escalation,
          expansionsPerRound: 2,
          measurePerRound: 2,
          epsilon: 0,
        },
        7,
      ).run(Schedule.initial(program));
      return { result, large };
    };
    // Predicted, the small model's children all improve: the largest model is never called.
    const onPredictions = await run("predicted");
    expect(onPredictions.result.courseAlterations).toBe(0);
    expect(onPredictions.large.contexts).toHaveLength(0);
    // Measured, they regress: the largest model is called, told of a measured regression.
    const onMeasurements = await run("measured");
    expect(onMeasurements.result.courseAlterations).toBeGreaterThan(0);
    expect(onMeasurements.large.contexts.length).toBe(onMeasurements.result.courseAlterations);
    for (const ctx of onMeasurements.large.contexts) {
      expect(ctx.purpose).toBe("course-alteration");
      expect(ctx.rejected!.model).toBe("small");
      expect(ctx.rejected!.childMs).toBeCloseTo(measured(ctx.traceText) * 1.1);
      expect(ctx.rejected!.parentMs).toBeCloseTo(measured(ctx.traceText));
    }
    const small = onMeasurements.result.models.find((m) => m.info.name === "small")!;
    expect(small.alterationsCaused).toBe(onMeasurements.result.courseAlterations);
  });

  /** The largest model's children predict fastest; the small model's are measured faster than their parents. */
  const sharedRun = async (smallerShare: number) => {
    const small = new Scripted(info("small", 1e9), (ctx, call) =>
      propose(ctx, "unroll", "large", call),
    );
    const large = new Scripted(info("large", 70e9), (ctx, call) =>
      propose(ctx, "parallel", "small", call),
    );
    const runner = new ObjectiveRunner(objective);
    const session = objectiveSession(objective, { trials: 16 }, runner);
    const result = await new ColtSearch(
      session,
      {
        proposers: [small, large],
        courseAlterationK: 0,
        smallerShare,
        measurePerRound: 2,
        epsilon: 0,
      },
      7,
    ).run(Schedule.initial(program));
    return { result, session };
  };

  it("reserves a share of each measurement round for the smaller models' children", async () => {
    const fromSmall = (session: TuningSession) =>
      session.trials.filter((t) => t.model === "small").length;
    const shared = await sharedRun(0.5);
    const unshared = await sharedRun(0);
    expect(fromSmall(shared.session)).toBeGreaterThanOrEqual(shared.session.trials.length / 2 - 1);
    expect(fromSmall(shared.session)).toBeGreaterThan(fromSmall(unshared.session));
  });

  it("hands a smaller model's child measured faster than its parent back to that model", async () => {
    // The small model names the large one for its children; only the shared rounds give them back.
    const expandedBySmallAfterSmall = (events: readonly ExpansionEvent[]) =>
      events.filter(
        (e) =>
          e.model === "small" &&
          parentTrace(e.trace).split("\n").filter(Boolean).at(-1)?.startsWith("unroll"),
      ).length;
    expect(expandedBySmallAfterSmall((await sharedRun(0.5)).result.expansions)).toBeGreaterThan(0);
    expect(expandedBySmallAfterSmall((await sharedRun(0)).result.expansions)).toBe(0);
  });

  it("with the frontier rule, expands cheap by default and calls the largest model after two failed cheap children near the best", async () => {
    const run = async (nextModelRule: ColtOptions["nextModelRule"]) => {
      // Every small child regresses (a split); the large model's parallel loops improve.
      const small = new Scripted(info("small", 1e9), (ctx, call) =>
        propose(ctx, "split", "large", call),
      );
      const large = new Scripted(info("large", 70e9), (ctx, call) =>
        propose(ctx, "parallel", "large", call),
      );
      const { result } = await runColt([small, large], 20, {
        courseAlterationK: 0,
        nextModelRule,
      });
      return result.expansions;
    };
    // The default: the root's model (the largest) and the models the proposers name.
    const byProposer = await run("proposer");
    expect(byProposer.every((e) => e.model === "large")).toBe(true);
    const frontier = await run("frontier");
    expect(frontier[0].model).toBe("small");
    // Replays the rule: at a node, the largest model only after its last two children were
    // the small model's and neither improved on it.
    const children = new Map<string, ExpansionEvent[]>();
    let largeCalls = 0;
    for (const e of frontier) {
      const parent = parentTrace(e.trace);
      const earlier = children.get(parent) ?? [];
      if (e.model === "large") {
        largeCalls++;
        const lastTwo = earlier.slice(-2);
        expect(lastTwo).toHaveLength(2);
        for (const c of lastTwo) {
          expect(c.model).toBe("small");
          expect(c.childMs).toBeGreaterThanOrEqual(c.parentMs);
        }
      }
      if (!earlier.some((c) => c.trace === e.trace)) children.set(parent, [...earlier, e]);
    }
    expect(largeCalls).toBeGreaterThan(0);
    expect(largeCalls).toBeLessThan(frontier.length / 2);
  });
});
