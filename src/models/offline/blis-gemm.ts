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
 * the kc loop waits once per block, behind a column-operand copy one thread makes); with
 * `balance` "dynamic", into smaller parts handed out to whichever thread is free
 * (recipes.ts:columnParts). A batch of GEMMs whose batch splits evenly over the threads is
 * shared by batches instead (static balance): each thread computes whole GEMMs and reads
 * only their operands, where column parts would each read every row operand (flux-conv's 16
 * Winograd GEMMs on two threads: both threads streamed all 16 MiB of the transformed filter,
 * 8.1 ms against 7.1 ms by batches, AMD EPYC Zen 5 VM, alternating three times). Where a
 * column panel as long as the whole reduction fits the L2, a second form drops the reduction
 * blocks and the row operand's copy (blisGemmWholeReduction).
 */
import { freeVars } from "../../ir/int-expr.ts";
import { forEachRead, isConstant } from "../../ir/program.ts";
import type { Axis, Stage } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import {
  applyAll,
  batchesInParallel,
  columnParts,
  partsInParallel,
  partsName,
  type PartBalance,
  recipeSteps,
  SKINNY_MAX_ROWS,
  untouchedContraction,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";

/** Register tiles per row block: mc = 8 mr keeps the packed row block within L2. */
const TILES_PER_ROW_BLOCK = 8;

/** The contraction's rows, columns and reduction, and its one row and one column operand. */
interface GemmShape {
  readonly stage: Stage;
  readonly rows: Axis;
  readonly cols: Axis;
  readonly reduction: Axis;
  readonly rowOperand: string;
  readonly colOperand: string;
}

/**
 * An untouched contraction of more rows than a skinny one and `mc`, with at least a tile's
 * columns, whose row operand is indexed by the rows and not the columns and whose column
 * operand the reverse (one of each).
 */
function gemmShape(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  mc: number,
): GemmShape | undefined {
  const stage = untouchedContraction(schedule, st);
  if (!stage) return undefined;
  const [rows, cols] = stage.axes.slice(-2);
  const reduction = stage.reduceAxes[0];
  if (rows.extent <= Math.max(SKINNY_MAX_ROWS, mc) || cols.extent < c.nr) return undefined;
  if (!c.widths.includes(c.width)) return undefined;
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
  return { stage, rows, cols, reduction, rowOperand: rowOperands[0], colOperand: colOperands[0] };
}

/**
 * The register tile inside a row block `i1` and an nr-column block `j2`: mr-row tiles `ir`
 * of rows `i2`, the columns as vectors `jl` (unrolled by `jv` when several); its loops
 * innermost, after the reduction, and its steps: the output tile accumulated in
 * registers at `ir`, rows and vectors unrolled, the vector loop vectorized.
 */
function registerTile(
  s: string,
  c: TileChoice,
  split: (loop: string, factor: number, outer: string, inner: string) => void,
  rows: { readonly i1: string; readonly ir: string; readonly i2: string },
  cols: { readonly j2: string; readonly jv: string; readonly jl: string },
): { readonly loops: string[]; readonly steps: Transform[] } {
  const { i1, ir, i2 } = rows;
  const { j2, jv, jl } = cols;
  split(i1, c.mr, ir, i2);
  const vectors = c.nr / c.width;
  if (vectors > 1) split(j2, c.width, jv, jl);
  const vectorLoop = vectors > 1 ? jl : j2;
  const unrolled: Transform[] = vectors > 1 ? [{ kind: "unroll", stage: s, loop: jv }] : [];
  return {
    loops: [i2, ...(vectors > 1 ? [jv] : []), vectorLoop],
    steps: [
      { kind: "cache_write", stage: s, at: ir },
      { kind: "unroll", stage: s, loop: i2 },
      ...unrolled,
      { kind: "vectorize", stage: s, loop: vectorLoop },
    ],
  };
}

/** Copies `tensor` into the order `s` reads it: once, prepared, if it is constant. */
function copyFor(schedule: Schedule, s: string, tensor: string, at: string): Transform {
  return isConstant(schedule.state.program, tensor)
    ? { kind: "prepare", stage: s, tensor }
    : { kind: "pack", stage: s, tensor, at };
}

export function blisGemm(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads = 1,
  balance: PartBalance = "static",
): AppliedRecipe | undefined {
  const mc = c.mr * TILES_PER_ROW_BLOCK;
  const shape = gemmShape(schedule, st, c, mc);
  if (!shape || shape.reduction.extent <= c.kc) return undefined;
  const { stage, rows, cols, reduction } = shape;

  const { steps, fresh, split } = recipeSteps(st);
  const s = st.name;
  const [kc, k1] = [fresh(`${reduction.name}c`), fresh(`${reduction.name}1`)];
  const [ic, i1, ir, i2] = ["c", "1", "r", "2"].map((x) => fresh(`${rows.name}${x}`));
  const [jr, j2, jv, jl] = ["r", "2", "w", "v"].map((x) => fresh(`${cols.name}${x}`));
  const [jp, jn] = [fresh(`${cols.name}p`), fresh(`${cols.name}n`)];
  const others = stage.axes.slice(0, -2);
  const batches = batchesInParallel(s, others, threads, balance);
  const part = batches ? undefined : columnParts(cols.extent, threads, c.nr, balance);
  if (balance === "dynamic" && !part) return undefined;
  split(reduction.name, c.kc, kc, k1);
  split(rows.name, mc, ic, i1);
  if (part) split(cols.name, part.part, jp, jn);
  split(part ? jn : cols.name, c.nr, jr, j2);
  const tile = registerTile(s, c, split, { i1, ir, i2 }, { j2, jv, jl });
  steps.push({
    kind: "reorder",
    stage: s,
    loops: [...(part ? [jp] : []), ...others.map((a) => a.name), kc, ic, jr, ir, k1, ...tile.loops],
  });
  steps.push(
    copyFor(schedule, s, shape.colOperand, kc),
    copyFor(schedule, s, shape.rowOperand, ic),
  );
  steps.push(...tile.steps);
  if (part) steps.push(partsInParallel(s, jp, part));
  if (batches) steps.push(batches.step);
  return applyAll(
    schedule,
    `BLIS blocking of ${s}: ${c.mr}x${c.nr} tile, kc ${c.kc}, mc ${mc}${part ? partsName(threads, part) : ""}${batches?.name ?? ""}`,
    steps,
  );
}

/** Row blocks of the whole-reduction form: mc = 4 mr rows. */
const TILES_PER_ROW_BLOCK_IN_PLACE = 4;

/**
 * The BLIS blocking without its reduction blocks, where a panel of the column operand as
 * long as the whole reduction fits half the private L2 at a useful width (nc at least the
 * tile's columns): the whole reduction runs inside the register tile, so the tile loads and
 * stores the output once instead of once per kc block; the column operand is copied once
 * per panel of nc columns (where a thread's columns are wider than that; else once per
 * batch), or prepared; an activation row operand is read in place, its mr rows streamed
 * side by side, and a constant one prepared. On the Zen 4 at 1024^3 the tile's loads of the
 * output missed the caches for 12% of the kernel's time with kc 256 (they come back every
 * kc block, rows 4 KiB apart) and packing the row operand once per column panel cost 7%
 * more: without both the kernel ran 19.5-20.5 ms against 22-23 ms; flux-conv's 16
 * Winograd GEMMs (K = 512) ran 5% faster. On several threads the batches or the columns are
 * shared as in blisGemm.
 */
export function blisGemmWholeReduction(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  l2Bytes: number,
  threads = 1,
  balance: PartBalance = "static",
): AppliedRecipe | undefined {
  const mc = c.mr * TILES_PER_ROW_BLOCK_IN_PLACE;
  const shape = gemmShape(schedule, st, c, mc);
  if (!shape) return undefined;
  const { stage, rows, cols, reduction } = shape;
  const widest = Math.floor(l2Bytes / 2 / (reduction.extent * 4) / c.nr) * c.nr;
  if (widest < c.nr) return undefined;
  const s = st.name;
  const batchAxes = stage.axes.slice(0, -2);
  const batches = batchesInParallel(s, batchAxes, threads, balance);
  const parts = batches ? undefined : columnParts(cols.extent, threads, c.nr, balance);
  if (balance === "dynamic" && !parts) return undefined;
  const part = parts?.part;
  const span = part ?? cols.extent;
  const nc = widest < span ? widest : undefined;
  const others = batchAxes.map((a) => a.name);
  const { steps, fresh, split } = recipeSteps(st);
  const [ic, i1, ir, i2] = ["c", "1", "r", "2"].map((x) => fresh(`${rows.name}${x}`));
  const [jp, jn, jc, jb, jr, j2, jv, jl] = ["p", "n", "c", "b", "r", "2", "w", "v"].map((x) =>
    fresh(`${cols.name}${x}`),
  );
  // Where the column operand is copied: per panel, else per batch (or prepared, anywhere).
  const copyAt = nc !== undefined ? jc : others.at(-1);
  if (copyAt === undefined && !isConstant(schedule.state.program, shape.colOperand))
    return undefined;
  if (part) split(cols.name, part, jp, jn);
  const thread = part ? jn : cols.name;
  if (nc !== undefined) split(thread, nc, jc, jb);
  split(nc !== undefined ? jb : thread, c.nr, jr, j2);
  split(rows.name, mc, ic, i1);
  const tile = registerTile(s, c, split, { i1, ir, i2 }, { j2, jv, jl });
  steps.push({
    kind: "reorder",
    stage: s,
    loops: [
      ...(part ? [jp] : []),
      ...others,
      ...(nc !== undefined ? [jc] : []),
      ic,
      jr,
      ir,
      reduction.name,
      ...tile.loops,
    ],
  });
  steps.push(copyFor(schedule, s, shape.colOperand, copyAt ?? ic));
  if (isConstant(schedule.state.program, shape.rowOperand))
    steps.push({ kind: "prepare", stage: s, tensor: shape.rowOperand });
  steps.push(...tile.steps);
  if (parts) steps.push(partsInParallel(s, jp, parts));
  if (batches) steps.push(batches.step);
  return applyAll(
    schedule,
    `BLIS blocking of ${s} over the whole reduction: ${c.mr}x${c.nr} tile, ${nc !== undefined ? `nc ${nc}` : "one panel"}, mc ${mc}${parts ? partsName(threads, parts) : ""}${batches?.name ?? ""}`,
    steps,
  );
}
