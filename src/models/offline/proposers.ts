/**
 * The built-in offline proposers, of graded strength and cost. They speak the same
 * joint-action protocol as LLMs so the whole COLT loop runs with no network, and are
 * labelled "offline" (not LLMs) wherever results are shown.
 */
import { Random } from "../../util/random.ts";
import { printTransform } from "../../schedule/text.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { Transform } from "../../schedule/transform.ts";
import type { ModelInfo, Proposal, ProposalContext, Proposer } from "../protocol.ts";
import { chooseNextModel } from "./next-model.ts";
import {
  inlineProducers,
  recipesFor,
  stagesByWork,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";
import { skinnyWeightGemm } from "./skinny-gemm.ts";

const TILE_CHOICES: readonly TileChoice[] = [
  { mr: 8, nr: 32, width: 16, kc: 256 },
  { mr: 4, nr: 32, width: 16, kc: 128 },
  { mr: 8, nr: 16, width: 16, kc: 64 },
  { mr: 6, nr: 32, width: 16, kc: 256 },
  { mr: 4, nr: 16, width: 8, kc: 32 },
];

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
      transformations: steps.map(printTransform),
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
}

/**
 * The expert recipes for every stage with some tile shapes and a sample of single moves,
 * ranked by the cost model: the more it scores, the stronger and the costlier.
 */
export class CostModelProposer extends OfflineProposer {
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
    const { tileShapes, singleMoves, escalateWhenStuck } = this.grade;
    const tiles =
      tileShapes >= TILE_CHOICES.length
        ? TILE_CHOICES
        : sample(TILE_CHOICES, tileShapes, this.random);
    const recipes = expertCandidates(ctx, tiles);
    const pick = bestPredicted(ctx, recipes, singleMoves, this.random);
    if (!pick) return answer(this.info, [], ctx, this.random, start, escalateWhenStuck);
    // Nothing it knows beats the node: the child goes to a larger model.
    const stuck = escalateWhenStuck && pick.ms >= ctx.predictMs(ctx.schedule);
    return answer(this.info, pick.steps, ctx, this.random, start, stuck);
  }
}

/** Middle: one drawn tile shape, checked against a few single moves. */
export const EXPERT_GRADE: Grade = { tileShapes: 1, singleMoves: 32, escalateWhenStuck: true };
/** Largest: every tile shape and many single moves. */
export const LOOKAHEAD_GRADE: Grade = {
  tileShapes: TILE_CHOICES.length,
  singleMoves: 96,
  escalateWhenStuck: false,
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
  const rejected = new Set(ctx.rejected?.transformations ?? []);
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

function expertCandidates(ctx: ProposalContext, choices: readonly TileChoice[]): AppliedRecipe[] {
  const out: AppliedRecipe[] = [];
  const inline = inlineProducers(ctx.schedule);
  if (inline) out.push(inline);
  for (const st of stagesByWork(ctx.schedule)) {
    for (const choice of choices) {
      const skinny = skinnyWeightGemm(ctx.schedule, st, choice);
      for (const applied of [
        ...recipesFor(ctx.schedule, st, choice, ctx.threads),
        ...(skinny ? [skinny] : []),
      ]) {
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
