/**
 * The convolution recipe: a direct convolution blocked as an implicit GEMM, as
 * `examples/schedules/flux-conv-paper.sched` writes it by hand. Output channels play the
 * GEMM's rows (the weight, prepared once as mr-channel panels, is broadcast one channel at
 * a time), output columns its columns (the padded input, contiguous along them, is read
 * in vectors at every kernel offset with no im2col copy), and the reduction over input
 * channels and kernel offsets is blocked by input channels. Inside a reduction block each
 * mr-channel weight panel stays in L1 while its tile sweeps every output position, and the
 * block's padded input stays in L2 while every panel sweeps it (the panel loop outside
 * the row loop: the other way round, the panels cycle through L2 and the kernel runs about
 * 3% slower at paper size). The mr x nr tile accumulates in registers. On several cores the
 * output channels are first cut into one contiguous part per thread, outermost and
 * parallel: each thread runs every reduction block on its own channels with no barrier in
 * between.
 */
import { freeVars } from "../../ir/int-expr.ts";
import { forEachRead, isWeight } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import { stageDefinition } from "../../schedule/state.ts";
import {
  applyAll,
  belowWidestTile,
  recipeSteps,
  untouchedStage,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";

/** Floats of one weight panel (mr channels x a reduction block): half of a 32 KiB L1. */
const PANEL_FLOATS = 4096;

/**
 * Input channels per reduction block: as many as keep the tile's weight panel (mr channels
 * x channels x kernel offsets) near PANEL_FLOATS, a power of two. The GEMM tile shapes' kc
 * sizes a panel of the column operand, which here is the input, read from L2 anyway.
 */
export function channelBlock(mr: number, offsets: number): number {
  return 2 ** Math.max(0, Math.round(Math.log2(PANEL_FLOATS / (mr * offsets))));
}

export function convGemm(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads = 1,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const stage = stageDefinition(p, st.name);
  // A GEMM has one reduction axis (the BLIS and skinny recipes take it); a convolution several.
  if (!untouchedStage(st) || stage.reduceAxes.length < 2 || stage.axes.length < 2) return undefined;
  if (!c.widths.includes(c.width)) return undefined;
  const uses = new Map<string, Set<string>>();
  forEachRead(stage.body, (r) => {
    const vars = uses.get(r.tensor) ?? new Set<string>();
    for (const x of r.idx) for (const v of freeVars(x)) vars.add(v);
    uses.set(r.tensor, vars);
  });
  if (uses.size !== 2) return undefined;
  const spatial = stage.axes.map((a) => a.name);
  const weights = [...uses.keys()].filter((t) => isWeight(p, t));
  if (weights.length !== 1) return undefined;
  const [weight] = weights;
  // The weight is indexed by one spatial axis (the output channels) and every reduction axis.
  const weightSpatial = spatial.filter((a) => uses.get(weight)!.has(a));
  if (weightSpatial.length !== 1) return undefined;
  const channels = stage.axes.find((a) => a.name === weightSpatial[0])!;
  const cols = stage.axes[stage.axes.length - 1];
  const [reduction, ...offsets] = stage.reduceAxes;
  if (cols === channels || cols.extent < c.width || channels.extent <= c.mr) return undefined;
  // Only the widest tile the output allows: flux-conv at paper size (output rows of 32)
  // tuned to 8 x 16 tiles ran at 29.6 ms against 22.6 ms for the 8 x 32 hand schedule
  // (AMD EPYC Zen 5, 1 thread), the cost model ranking the narrower tile first.
  if (belowWidestTile(c, channels.extent, cols.extent)) return undefined;

  const { steps, fresh, split } = recipeSteps(st);
  const s = st.name;
  const o = channels.name;
  const [op, or, oo, oi] = ["p", "r", "o", "i"].map((x) => fresh(`${o}${x}`));
  const threadPart = Math.ceil(channels.extent / threads / c.mr) * c.mr;
  const perThread = threads > 1 && threadPart < channels.extent;
  if (perThread) split(o, threadPart, op, or);
  split(perThread ? or : o, c.mr, oo, oi);

  const offsetCount = offsets.reduce((n, a) => n * a.extent, 1);
  const cBlock = channelBlock(c.mr, offsetCount);
  const reductionBlocked = reduction.extent > cBlock;
  const [rc, r1] = [fresh(`${reduction.name}c`), fresh(`${reduction.name}1`)];
  if (reductionBlocked) split(reduction.name, cBlock, rc, r1);

  const nr = Math.min(c.nr, Math.floor(cols.extent / c.width) * c.width);
  const colBlocks = cols.extent > nr;
  const [xo, x1, xw, xv] = ["o", "1", "w", "v"].map((x) => fresh(`${cols.name}${x}`));
  if (colBlocks) split(cols.name, nr, xo, x1);
  const vectors = nr / c.width;
  const colInner = colBlocks ? x1 : cols.name;
  if (vectors > 1) split(colInner, c.width, xw, xv);
  const vectorLoop = vectors > 1 ? xv : colInner;

  const channelIndex = spatial.indexOf(o);
  const before = spatial.slice(0, channelIndex);
  const between = spatial.filter((a, i) => i > channelIndex && a !== cols.name);
  const tileLoops = [oo, ...between, ...(colBlocks ? [xo] : [])];
  steps.push({
    kind: "reorder",
    stage: s,
    loops: [
      ...before,
      ...(perThread ? [op] : []),
      ...(reductionBlocked ? [rc] : []),
      ...tileLoops,
      reductionBlocked ? r1 : reduction.name,
      ...offsets.map((a) => a.name),
      oi,
      ...(vectors > 1 ? [xw] : []),
      vectorLoop,
    ],
  });
  steps.push({ kind: "prepare", stage: s, tensor: weight });
  steps.push({ kind: "cache_write", stage: s, at: tileLoops[tileLoops.length - 1] });
  steps.push({ kind: "unroll", stage: s, loop: oi });
  if (vectors > 1) steps.push({ kind: "unroll", stage: s, loop: xw });
  steps.push({ kind: "vectorize", stage: s, loop: vectorLoop });
  if (perThread) steps.push({ kind: "parallel", stage: s, loop: op });
  return applyAll(
    schedule,
    `implicit-GEMM blocking of ${s}: ${c.mr} ${o} x ${nr} ${cols.name} tile, ${cBlock} ${reduction.name} per block${perThread ? `, ${threads} ${o} parts in parallel` : ""}`,
    steps,
  );
}
