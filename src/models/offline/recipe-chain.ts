/**
 * A whole-program proposal: the best predicted recipe at the node, then the best predicted
 * recipe on the program it leaves, and so on, one stage after another. A layer of several
 * heavy stages (the MoE's router, gate, up and down projections) otherwise needs one
 * expansion per stage, and a 64-trial search at paper size often spends its trials on
 * other branches before the line is deep enough; an LLM asked for a schedule writes all
 * of the stages at once in the same way.
 */
import type { Schedule } from "../../schedule/schedule.ts";
import type { AppliedRecipe } from "./recipes.ts";

/**
 * Each link must be predicted at least this much faster than the program before it:
 * smaller gains are within the cost model's error, and a chain of them is a guess.
 */
export const MIN_LINK_GAIN = 0.03;

export interface ChainInputs {
  /** The recipes at the node (the first link is drawn from them). */
  readonly first: readonly AppliedRecipe[];
  /** The recipes on a program the chain reached. */
  readonly recipesAt: (schedule: Schedule) => readonly AppliedRecipe[];
  readonly predictMs: (schedule: Schedule) => number;
  /** The node's program. */
  readonly from: Schedule;
  readonly maxLinks: number;
  /**
   * A last link for the chain's end, kept when not predicted slower: cheap stages each
   * below the gain a link must make, done together (elementwise-stages.ts).
   */
  readonly finish?: (schedule: Schedule) => AppliedRecipe | undefined;
}

/**
 * The chain of at least two links, as one recipe whose steps apply to the node's program;
 * undefined when no second link gains (the first alone is already a candidate).
 */
export function chainRecipes(inputs: ChainInputs): AppliedRecipe | undefined {
  const links: AppliedRecipe[] = [];
  let current = inputs.from;
  let currentMs = inputs.predictMs(current);
  let recipes = inputs.first;
  for (;;) {
    const best = fastest(recipes, inputs.predictMs);
    if (!best || best.ms > currentMs * (1 - MIN_LINK_GAIN)) break;
    links.push(best.recipe);
    current = best.recipe.schedule;
    currentMs = best.ms;
    if (links.length >= inputs.maxLinks) break;
    recipes = inputs.recipesAt(current);
  }
  const last = links.length > 0 ? inputs.finish?.(current) : undefined;
  if (last && inputs.predictMs(last.schedule) <= currentMs) {
    links.push(last);
    current = last.schedule;
  }
  if (links.length < 2) return undefined;
  return {
    name: `chain of ${links.map((l) => l.name).join(", ")}`,
    schedule: current,
    steps: links.flatMap((l) => l.steps),
  };
}

function fastest(
  recipes: readonly AppliedRecipe[],
  predictMs: (schedule: Schedule) => number,
): { recipe: AppliedRecipe; ms: number } | undefined {
  let best: { recipe: AppliedRecipe; ms: number } | undefined;
  for (const recipe of recipes) {
    const ms = predictMs(recipe.schedule);
    if (!best || ms < best.ms) best = { recipe, ms };
  }
  return best;
}
