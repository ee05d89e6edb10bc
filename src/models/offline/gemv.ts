/**
 * The GEMV recipe: a contraction with one row (a decode step) against a weight, bound by
 * reading the weight once. The output columns are cut into panels of 4 vectors, each
 * panel's weight columns prepared contiguous in reduction order and streamed once into 4
 * vector accumulators; the panels are the parallel loop (the row loop has one iteration).
 */
import { forEachRead, isWeight } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import { applyAll, untouchedContraction, type AppliedRecipe, type TileChoice } from "./recipes.ts";

/** Vector accumulators per panel: enough independent FMA chains to keep loads streaming. */
const PANEL_VECTORS = 4;

export function gemvWeightStream(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads: number,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const stage = untouchedContraction(schedule, st);
  if (!stage) return undefined;
  const cols = stage.axes[stage.axes.length - 1];
  if (stage.axes.slice(0, -1).some((a) => a.extent !== 1)) return undefined;
  const weights = new Set<string>();
  forEachRead(stage.body, (r) => {
    if (isWeight(p, r.tensor)) weights.add(r.tensor);
  });
  const panel = PANEL_VECTORS * c.width;
  if (weights.size === 0 || cols.extent < panel) return undefined;
  const s = st.name;
  const j = cols.name;
  const k = stage.reduceAxes[0].name;
  const [jo, j1, jv, jl] = [`${j}o`, `${j}1`, `${j}v`, `${j}l`];
  const steps: Transform[] = [
    { kind: "split", stage: s, loop: j, factor: panel, outer: jo, inner: j1 },
    { kind: "split", stage: s, loop: j1, factor: c.width, outer: jv, inner: jl },
    { kind: "reorder", stage: s, loops: [jo, k, jv, jl] },
    ...[...weights].map((w): Transform => ({ kind: "prepare", stage: s, tensor: w })),
    { kind: "cache_write", stage: s, at: jo },
    { kind: "unroll", stage: s, loop: jv },
    { kind: "vectorize", stage: s, loop: jl },
    ...(threads > 1 ? [{ kind: "parallel", stage: s, loop: jo } as const] : []),
  ];
  return applyAll(
    schedule,
    `GEMV of ${s}: prepared ${[...weights].join(", ")} in ${panel}-column panels`,
    steps,
  );
}
