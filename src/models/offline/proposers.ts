/**
 * The built-in offline proposers, of graded strength and cost. They implement the same
 * proposer interface as LLMs (typed transformation steps, built from the schedule) so the
 * whole COLT loop runs with no network, and are labelled "offline" (not LLMs) wherever
 * results are shown.
 */
import { Random } from "../../util/random.ts";
import { printTransform } from "../../schedule/text.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { Transform } from "../../schedule/transform.ts";
import {
  stepText,
  type ModelInfo,
  type Proposal,
  type ProposalContext,
  type Proposer,
} from "../../search/proposer.ts";
import { chooseNextModel } from "./next-model.ts";
import { chainRecipes } from "./recipe-chain.ts";
import { elementwiseStages } from "./elementwise-stages.ts";
import {
  inlineProducers,
  recipesFor,
  stagesByWork,
  type AppliedRecipe,
  type PartBalance,
  type TileChoice,
} from "./recipes.ts";
import { blisGemm, blisGemmWholeReduction } from "./blis-gemm.ts";
import { computeChainPerBlock, tiledChainPerBlock } from "./block-chain.ts";
import { convGemm } from "./conv-gemm.ts";
import { winogradConv } from "./winograd-conv.ts";
import { convPlaneChannelsOuter } from "./conv-plane.ts";
import { gemvWeightStream } from "./gemv.ts";
import {
  fewRowsAroundWeights,
  rowsInOnePass,
  streamedRows,
  vectorReduction,
} from "./row-reductions.ts";
import { skinnyWeightGemm } from "./skinny-gemm.ts";
import { tileChoices } from "./tile-shapes.ts";

function answer(
  info: ModelInfo,
  steps: readonly Transform[],
  ctx: ProposalContext,
  random: Random,
  started: number,
  escalate = false,
): Proposal {
  return {
    action: {
      steps,
      nextModel: chooseNextModel(ctx.models, random, 0.1, escalate),
    },
    usage: { tokensIn: 0, tokensOut: 0, costUsd: 0, latencyMs: performance.now() - started },
  };
}

/** Shared by the built-in proposers: a model description and a seeded generator of their own. */
abstract class OfflineProposer implements Proposer {
  protected abstract readonly salt: number;
  private generator?: Random;
  constructor(
    readonly info: ModelInfo,
    private readonly seed: number,
  ) {}
  protected get random(): Random {
    this.generator ??= new Random(this.seed ^ this.salt);
    return this.generator;
  }
  abstract propose(ctx: ProposalContext): Promise<Proposal>;
}

/** Cheapest: one random legal transformation (kinds drawn uniformly first). */
export class RandomProposer extends OfflineProposer {
  protected readonly salt = 0x1111;
  async propose(ctx: ProposalContext): Promise<Proposal> {
    const start = performance.now();
    const moves = notKnownWorse(ctx, ctx.legalMoves());
    if (moves.length === 0) return answer(this.info, [], ctx, this.random, start);
    const kinds = [...new Set(moves.map((m) => m.transform.kind))];
    const kind = this.random.pick(kinds);
    const move = this.random.pick(moves.filter((m) => m.transform.kind === kind));
    return answer(this.info, [move.transform], ctx, this.random, start);
  }
}

/**
 * How much a cost-model proposer looks at per call: the strength knobs of the graded
 * offline family (graded.ts).
 */
export interface Grade {
  /** Tile shapes the recipes are instantiated with, drawn per call (all of them: no draw). */
  readonly tileShapes: number;
  /** Single legal moves sampled and scored besides the recipes. */
  readonly singleMoves: number;
  /** Hand the child to a larger model when nothing it found beats the node. */
  readonly escalateWhenStuck: boolean;
  /**
   * Recipes chained stage after stage into one whole-program candidate, at most this many
   * (recipe-chain.ts); 1: single recipes only.
   */
  readonly chainLinks: number;
}

/**
 * The expert recipes for every stage with some tile shapes and a sample of single moves,
 * ranked by the cost model: the more it scores, the stronger and the costlier.
 */
export class CostModelProposer extends OfflineProposer {
  private readonly recipes = new RecipeCache(RECIPE_CACHE_ENTRIES);
  constructor(
    info: ModelInfo,
    seed: number,
    private readonly grade: Grade,
    protected readonly salt: number,
  ) {
    super(info, seed);
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const start = performance.now();
    const { tileShapes, singleMoves, escalateWhenStuck, chainLinks } = this.grade;
    const all = tileChoices(ctx.target);
    const tiles = tileShapes >= all.length ? all : sample(all, tileShapes, this.random);
    const recipes = expertCandidates(ctx, tiles, this.recipes);
    const chain =
      chainLinks > 1
        ? chainRecipes({
            first: recipes,
            // Not a spread of ctx: that would evaluate its lazy programText.
            recipesAt: (schedule) =>
              expertCandidates(
                { schedule, threads: ctx.threads, target: ctx.target },
                tiles,
                this.recipes,
              ),
            predictMs: ctx.predictMs,
            from: ctx.schedule,
            maxLinks: chainLinks,
            finish: (schedule) => elementwiseStages(schedule, tiles[0], ctx.threads),
          })
        : undefined;
    const pick = bestPredicted(
      ctx,
      chain ? [...recipes, chain] : recipes,
      singleMoves,
      this.random,
    );
    if (!pick) return answer(this.info, [], ctx, this.random, start, escalateWhenStuck);
    // Nothing it knows beats the node: the child goes to a larger model.
    const stuck = escalateWhenStuck && pick.ms >= ctx.predictMs(ctx.schedule);
    return answer(this.info, pick.steps, ctx, this.random, start, stuck);
  }
}

/** Middle: one drawn tile shape, checked against a few single moves. */
export const EXPERT_GRADE: Grade = {
  tileShapes: 1,
  singleMoves: 32,
  escalateWhenStuck: true,
  chainLinks: 1,
};
/** Largest: every tile shape, many single moves, and recipes chained over the stages. */
export const LOOKAHEAD_GRADE: Grade = {
  tileShapes: Infinity,
  singleMoves: 96,
  escalateWhenStuck: false,
  chainLinks: 6,
};

export class ExpertProposer extends CostModelProposer {
  constructor(info: ModelInfo, seed: number) {
    super(info, seed, EXPERT_GRADE, 0x2222);
  }
}

export class LookaheadProposer extends CostModelProposer {
  constructor(info: ModelInfo, seed: number) {
    super(info, seed, LOOKAHEAD_GRADE, 0x3333);
  }
}

interface Candidate {
  readonly steps: readonly Transform[];
  readonly ms: number;
}

/**
 * Candidates that would not recreate a child of the node measured slower than the node:
 * re-proposing a good child deepens its line (its value is counted again), re-proposing
 * one known to regress wastes the expansion and, at the root, commits the whole tree to it.
 */
function notKnownWorse<T extends { readonly schedule: Schedule }>(
  ctx: ProposalContext,
  candidates: readonly T[],
): T[] {
  const worse = new Set(
    ctx.children.filter((c) => c.measured && c.ms > ctx.node.ms).map((c) => c.trace),
  );
  return candidates.filter((c) => !worse.has(c.schedule.text()));
}

/**
 * The recipes and a sample of single legal moves, ranked by predicted time; a proposal
 * that recreates a child measured slower than the node, or was rejected by course
 * alteration, is left out. One of the near-ties is drawn so repeated expansions of a node stay apart.
 */
function bestPredicted(
  ctx: ProposalContext,
  recipes: readonly AppliedRecipe[],
  singleMoves: number,
  random: Random,
): Candidate | undefined {
  const candidates: Candidate[] = notKnownWorse(ctx, recipes).map((r) => ({
    steps: r.steps,
    ms: ctx.predictMs(r.schedule),
  }));
  for (const m of sample(notKnownWorse(ctx, ctx.legalMoves()), singleMoves, random)) {
    candidates.push({ steps: [m.transform], ms: ctx.predictMs(m.schedule) });
  }
  const rejected = new Set(ctx.rejected?.steps.map(stepText) ?? []);
  const usable = candidates.filter(
    (c) =>
      !(c.steps.length === rejected.size && c.steps.every((t) => rejected.has(printTransform(t)))),
  );
  if (usable.length === 0) return undefined;
  usable.sort((a, b) => a.ms - b.ms);
  const near = usable.filter((c) => c.ms <= usable[0].ms * 1.02).slice(0, 3);
  return random.pick(near);
}

function sample<T>(items: readonly T[], n: number, random: Random): readonly T[] {
  if (items.length <= n) return items;
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n) out.push(pool.splice(random.int(pool.length), 1)[0]);
  return out;
}

/**
 * Recipes already built, by node and tile shape: a node is expanded again and again by its
 * model (widening), and building a recipe lowers the program after every step.
 */
class RecipeCache {
  private readonly byKey = new Map<string, readonly AppliedRecipe[]>();
  constructor(private readonly capacity: number) {}

  get(key: string, build: () => readonly AppliedRecipe[]): readonly AppliedRecipe[] {
    let recipes = this.byKey.get(key);
    if (!recipes) {
      // Oldest first out: the tree's frontier moves on.
      if (this.byKey.size >= this.capacity) this.byKey.delete(this.byKey.keys().next().value!);
      recipes = build();
      this.byKey.set(key, recipes);
    }
    return recipes;
  }
}

/** Node × stage × tile shape entries a proposer keeps. */
const RECIPE_CACHE_ENTRIES = 2048;

function expertCandidates(
  ctx: Pick<ProposalContext, "schedule" | "threads" | "target">,
  choices: readonly TileChoice[],
  cache: RecipeCache,
): AppliedRecipe[] {
  const out: AppliedRecipe[] = [];
  const trace = ctx.schedule.text();
  const [inline] = cache.get(`${trace}|inline`, () => {
    const r = inlineProducers(ctx.schedule);
    return r ? [r] : [];
  });
  if (inline) out.push(inline);
  // The row-operator and GEMV recipes depend on the vector width only: once per width.
  const byWidth = [...new Map(choices.map((c) => [c.width, c])).values()];
  for (const choice of byWidth) {
    const onePass = cache.get(`${trace}|one-pass|${choice.width}|${ctx.threads}`, () =>
      [
        ...[1, 2]
          .map((rows) => rowsInOnePass(ctx.schedule, choice, ctx.threads, rows))
          .flatMap((r) => (r ? [r, streamedRows(r, ctx.target, ctx.threads)] : [])),
        // On several threads, streamed: a serial row loop in each thread's part, to
        // pipeline; or the rows handed out dynamically, so the cores even out.
        ...(["parts", "dynamic"] as const).flatMap((sharing) =>
          [1, 2].map((rows) => {
            const shared = rowsInOnePass(ctx.schedule, choice, ctx.threads, rows, sharing);
            return shared && streamedRows(shared, ctx.target, ctx.threads);
          }),
        ),
        fewRowsAroundWeights(ctx.schedule, choice),
      ].filter((r): r is AppliedRecipe => r !== undefined),
    );
    for (const r of onePass)
      if (!out.some((o) => o.schedule.text() === r.schedule.text())) out.push(r);
    const [elementwise] = cache.get(`${trace}|elementwise|${choice.width}|${ctx.threads}`, () => {
      const r = elementwiseStages(ctx.schedule, choice, ctx.threads);
      return r ? [r] : [];
    });
    if (elementwise) out.push(elementwise);
  }
  for (const st of stagesByWork(ctx.schedule)) {
    for (const choice of choices) {
      const key = `${trace}|${st.name}|${choice.mr}x${choice.nr}/${choice.width}/${choice.kc}|${ctx.threads}`;
      const built = cache.get(key, () => {
        // On several threads the GEMM recipes come with their column parts handed out too.
        const balances: PartBalance[] = ctx.threads > 1 ? ["static", "dynamic"] : ["static"];
        const gemms = balances.flatMap((balance) => [
          skinnyWeightGemm(ctx.schedule, st, choice, ctx.threads, ctx.target, balance),
          blisGemm(ctx.schedule, st, choice, ctx.threads, balance),
          blisGemmWholeReduction(
            ctx.schedule,
            st,
            choice,
            ctx.target.caches.l2Bytes,
            ctx.threads,
            balance,
          ),
        ]);
        const conv = convGemm(ctx.schedule, st, choice, ctx.threads);
        const winograd = winogradConv(
          ctx.schedule,
          st,
          choice,
          ctx.target.caches.l2Bytes,
          ctx.threads,
        );
        const perWidth = byWidth.includes(choice);
        const accumulators = perWidth ? vectorReduction(ctx.schedule, st, choice) : undefined;
        const gemv = perWidth ? gemvWeightStream(ctx.schedule, st, choice, ctx.threads) : undefined;
        return [
          ...recipesFor(ctx.schedule, st, choice, ctx.threads),
          ...gemms.filter((r): r is AppliedRecipe => r !== undefined),
          ...(conv ? [conv] : []),
          ...(winograd ? [winograd] : []),
          ...convPlaneChannelsOuter(ctx.schedule, st, choice),
          ...[
            computeChainPerBlock(ctx.schedule, st),
            tiledChainPerBlock(ctx.schedule, st, choice),
          ].filter((r): r is AppliedRecipe => r !== undefined),
          ...(accumulators ? [accumulators] : []),
          ...(gemv ? [gemv] : []),
        ];
      });
      for (const applied of built) {
        if (!out.some((o) => o.schedule.text() === applied.schedule.text())) out.push(applied);
      }
    }
  }
  return out;
}

/** The embedded default bucket: three offline proposers of increasing size. */
export function offlineBucket(seed: number): Proposer[] {
  return [
    new RandomProposer(
      {
        name: "offline-random",
        kind: "offline",
        size: 0.5e9,
        description: "one random legal transformation",
      },
      seed,
    ),
    new ExpertProposer(
      {
        name: "offline-expert",
        kind: "offline",
        size: 8e9,
        description: "expert recipes with one tile shape, checked against a few single moves",
      },
      seed,
    ),
    new LookaheadProposer(
      {
        name: "offline-lookahead",
        kind: "offline",
        size: 70e9,
        description: "cost-model lookahead over recipes and single moves",
      },
      seed,
    ),
  ];
}
