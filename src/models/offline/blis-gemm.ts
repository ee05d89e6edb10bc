/**
 * The BLIS recipe for a contraction of many rows (a square GEMM, a convolution as an
 * implicit GEMM's inner product): the whole cache and register blocking in one step,
 * as `examples/schedules/matmul-1024.sched` writes it by hand. The reduction is blocked
 * by kc (a kc x nr panel of the column operand stays in L1), rows by mc = 8 register
 * tiles (the row operand's block stays in L2), the mr x nr tile accumulates in registers,
 * and both operands are packed into the order the tile reads them (a weight is prepared
 * once instead). Built step by step the same schedule needs six recipes in a row, which
 * a short search rarely chains; on targets with few registers (16 ymm) the tile that
 * reaches the peak (6 x 2 vectors) is only good once everything around it is in place.
 * On several cores the columns are first cut into one part per thread, outermost and
 * parallel: each thread packs its own panels of the column operand and its own row
 * blocks, and no barrier falls between reduction blocks (a parallel row-block loop inside
 * the kc loop waits once per block, behind a column-operand copy one thread makes).
 */
import { freeVars } from "../../ir/int-expr.ts";
import { forEachRead, isConstant } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import {
  applyAll,
  columnPartPerThread,
  recipeSteps,
  SKINNY_MAX_ROWS,
  untouchedContraction,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";

/** Register tiles per row block: mc = 8 mr keeps the packed row block within L2. */
const TILES_PER_ROW_BLOCK = 8;

export function blisGemm(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads = 1,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const stage = untouchedContraction(schedule, st);
  if (!stage) return undefined;
  const [rows, cols] = stage.axes.slice(-2);
  const reduction = stage.reduceAxes[0];
  const mc = c.mr * TILES_PER_ROW_BLOCK;
  if (rows.extent <= Math.max(SKINNY_MAX_ROWS, mc) || cols.extent < c.nr) return undefined;
  if (reduction.extent <= c.kc || !c.widths.includes(c.width)) return undefined;
  // The row operand is indexed by the rows and not the columns; the column operand the reverse.
  const uses = new Map<string, Set<string>>();
  forEachRead(stage.body, (r) => {
    const vars = uses.get(r.tensor) ?? new Set<string>();
    for (const x of r.idx) for (const v of freeVars(x)) vars.add(v);
    uses.set(r.tensor, vars);
  });
  const operand = (mine: string, other: string) =>
    [...uses].filter(([, v]) => v.has(mine) && !v.has(other)).map(([t]) => t);
  const rowOperands = operand(rows.name, cols.name);
  const colOperands = operand(cols.name, rows.name);
  if (rowOperands.length !== 1 || colOperands.length !== 1) return undefined;

  const { steps, fresh, split } = recipeSteps(st);
  const s = st.name;
  const [kc, k1] = [fresh(`${reduction.name}c`), fresh(`${reduction.name}1`)];
  const [ic, i1, ir, i2] = ["c", "1", "r", "2"].map((x) => fresh(`${rows.name}${x}`));
  const [jr, j2, jv, jl] = ["r", "2", "w", "v"].map((x) => fresh(`${cols.name}${x}`));
  const [jp, jn] = [fresh(`${cols.name}p`), fresh(`${cols.name}n`)];
  const part = columnPartPerThread(cols.extent, threads, c.nr);
  split(reduction.name, c.kc, kc, k1);
  split(rows.name, mc, ic, i1);
  if (part) split(cols.name, part, jp, jn);
  split(part ? jn : cols.name, c.nr, jr, j2);
  split(i1, c.mr, ir, i2);
  const vectors = c.nr / c.width;
  if (vectors > 1) split(j2, c.width, jv, jl);
  const vectorLoop = vectors > 1 ? jl : j2;
  const others = stage.axes.slice(0, -2).map((a) => a.name);
  steps.push({
    kind: "reorder",
    stage: s,
    loops: [
      ...(part ? [jp] : []),
      ...others,
      kc,
      ic,
      jr,
      ir,
      k1,
      i2,
      ...(vectors > 1 ? [jv] : []),
      vectorLoop,
    ],
  });
  const copy = (tensor: string, at: string): Transform =>
    isConstant(p, tensor)
      ? { kind: "prepare", stage: s, tensor }
      : { kind: "pack", stage: s, tensor, at };
  steps.push(copy(colOperands[0], kc), copy(rowOperands[0], ic));
  steps.push({ kind: "cache_write", stage: s, at: ir });
  steps.push({ kind: "unroll", stage: s, loop: i2 });
  if (vectors > 1) steps.push({ kind: "unroll", stage: s, loop: jv });
  steps.push({ kind: "vectorize", stage: s, loop: vectorLoop });
  if (part) steps.push({ kind: "parallel", stage: s, loop: jp });
  return applyAll(
    schedule,
    `BLIS blocking of ${s}: ${c.mr}x${c.nr} tile, kc ${c.kc}, mc ${mc}${part ? `, ${threads} column parts in parallel` : ""}`,
    steps,
  );
}
