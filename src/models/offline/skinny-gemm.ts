/**
 * The skinny-GEMM recipe: a contraction of few rows (tokens) against a large weight,
 * as in the MLP and MoE layers, where the weight's traffic dominates. Every weight
 * element is read from memory once: the reduction is blocked outermost, then the
 * weight's column panels, then the row blocks, so one kc x nr panel of the weight,
 * prepared contiguous in that order, stays in L1 while every row block uses it from an
 * mr x nr register tile; the rows' activations are packed once per reduction block.
 * On several cores the weight's columns are first cut into one contiguous part per
 * thread, outermost and parallel: each thread streams its own panels through every
 * reduction block with no barrier between blocks (a parallel panel loop inside the
 * reduction-block loop would synchronize once per block); with `balance` "dynamic", into
 * smaller parts handed out to whichever thread is free (recipes.ts:columnParts).
 * Only the tallest and widest tile the registers hold is used (`shortTileOnSkinnyWeights`).
 *
 * A weight larger than the private caches is also prefetched two panels ahead from every
 * step of the reduction block: a panel comes from memory in a burst while the first row
 * block uses it, then the other row blocks reuse it from L1 without a miss, so the
 * hardware prefetcher never runs ahead into the next panel. deepseek-r1-moe at paper size,
 * the hand schedule (Zen 5 VM, `colt measure`, alternating): 2 threads 18.1–20.5 ms
 * without, 16.1–16.5 ms with. The prefetch is spread: the panel two ahead arrives into L1
 * a line every few steps over all the row blocks of this one, not in a burst from the
 * first row block's steps (which left that block about twice as slow as the others, from
 * memory); bench:paper's tuned schedules, alternating three times (Zen 5 VM): MoE one
 * thread 32.0–33.4 against 30.0–31.0 ms, the MLP 44.3–46.1 against 41.6–43.0 ms.
 */
import { forEachRead, isWeight } from "../../ir/program.ts";
import { passesPrivateCaches } from "../../schedule/enumerate.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import type { Target } from "../../target/target.ts";
import {
  applyAll,
  columnParts,
  partsInParallel,
  partsName,
  type PartBalance,
  recipeSteps,
  shortTileOnSkinnyWeights,
  SKINNY_MAX_ROWS,
  untouchedContraction,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";

export function skinnyWeightGemm(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads = 1,
  /** The target whose private caches decide which weights are prefetched; none without it. */
  target?: Target,
  balance: PartBalance = "static",
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const stage = untouchedContraction(schedule, st);
  if (!stage) return undefined;
  const operands = new Set<string>();
  forEachRead(stage.body, (r) => operands.add(r.tensor));
  const weights = [...operands].filter((t) => isWeight(p, t));
  if (weights.length === 0) return undefined;
  const [rows, cols] = stage.axes.slice(-2);
  const reduction = stage.reduceAxes[0];
  const width = c.width;
  if (rows.extent > SKINNY_MAX_ROWS || cols.extent < c.nr || !c.widths.includes(width))
    return undefined;
  if (shortTileOnSkinnyWeights(p, stage, c)) return undefined;
  const { steps, fresh, split } = recipeSteps(st);
  const s = st.name;
  const [rc, r1] = [fresh(`${reduction.name}c`), fresh(`${reduction.name}1`)];
  const blocked = reduction.extent > c.kc;
  if (blocked) split(reduction.name, c.kc, rc, r1);
  const [co, c1, cv, cl] = ["o", "1", "w", "v"].map((x) => fresh(`${cols.name}${x}`));
  const [cp, cr] = [fresh(`${cols.name}p`), fresh(`${cols.name}r`)];
  const threadParts = columnParts(cols.extent, threads, c.nr, balance);
  if (balance === "dynamic" && !threadParts) return undefined;
  const perThread = threadParts !== undefined;
  if (perThread) split(cols.name, threadParts.part, cp, cr);
  split(perThread ? cr : cols.name, c.nr, co, c1);
  const vectors = c.nr / width;
  if (vectors > 1) split(c1, width, cv, cl);
  const [ro, r2] = [fresh(`${rows.name}o`), fresh(`${rows.name}2`)];
  const rowBlocks = rows.extent > c.mr;
  if (rowBlocks) split(rows.name, c.mr, ro, r2);
  const others = stage.axes.slice(0, -2).map((a) => a.name);
  const tileLoop = rowBlocks ? ro : co;
  const rowInner = rowBlocks ? r2 : rows.name;
  const vectorLoop = vectors > 1 ? cl : c1;
  const reductionInner = blocked ? r1 : reduction.name;
  const order = [
    ...(perThread ? [cp] : []),
    ...others,
    ...(blocked ? [rc] : []),
    co,
    ...(rowBlocks ? [ro] : []),
    reductionInner,
    rowInner,
    ...(vectors > 1 ? [cv] : []),
    vectorLoop,
  ];
  steps.push({ kind: "reorder", stage: s, loops: order });
  for (const w of weights) steps.push({ kind: "prepare", stage: s, tensor: w });
  steps.push({ kind: "cache_write", stage: s, at: tileLoop });
  if (Math.min(rows.extent, c.mr) > 1) steps.push({ kind: "unroll", stage: s, loop: rowInner });
  if (vectors > 1) steps.push({ kind: "unroll", stage: s, loop: cv });
  steps.push({ kind: "vectorize", stage: s, loop: vectorLoop });
  if (perThread) steps.push(partsInParallel(s, cp, threadParts));
  for (const w of weights) {
    if (target && passesPrivateCaches(p, w, target, threads))
      steps.push({
        kind: "prefetch",
        stage: s,
        tensor: w,
        at: reductionInner,
        ahead: co,
        distance: 2,
        spread: true,
      });
  }
  const name = `skinny tile ${c.mr}x${c.nr} of ${s} streaming prepared ${weights.join(", ")}${perThread ? partsName(threads, threadParts) : ""}`;
  const applied = applyAll(schedule, name, steps);
  if (!applied || !blocked) return applied;
  // The rows' activations, packed per reduction block, when lowering accepts it.
  const packs: Transform[] = [...operands]
    .filter((t) => !weights.includes(t))
    .map((t) => ({ kind: "pack", stage: s, tensor: t, at: rc }));
  return applyAll(schedule, name, [...steps, ...packs]) ?? applied;
}
