/**
 * Lowering of what a stage reads from workspace instead of the tensor itself: producers
 * computed at one of its loops (compute_at), weights prepared before the kernel
 * (prepare), and operand tiles copied at a loop (pack, cache_read). Each part rewrites
 * the stage body's reads and attaches its fill statements to the stage's loops.
 */
import { add, freeVars, intVar, sub, type IntExpr } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import type { Expr } from "../ir/program.ts";
import { tensorShape } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { freshBufferName, type Attachments, type LowerCtx, type Region } from "./lower-context.ts";
import type { StageFrame } from "./lower-frame.ts";
import { prepareWeight } from "./lower-prepare.ts";
import { chainRegions, chainsAt } from "./lower-chain.ts";
import { inlineReads, readsOf, redirectReads, regionOf, singleAccess } from "./lower-reads.ts";
import { buildNest, inBoundsGuards, type NestLoop } from "./nest-builder.ts";
import { stageState } from "./state.ts";

/** Largest workspace copy (pack, cache_read, compute_at region), in floats. */
const MAX_COPY_FLOATS = 16 * 1024 * 1024;

/** Lowers a stage (recursively, for compute_at producers) into statements. */
export type StageLowering = (ctx: LowerCtx, name: string, region?: Region) => Stmt[];

/**
 * compute_at producers: their region of output is computed inside loop c. Regions are
 * inferred last stage first, since a chain's later stages read its earlier ones.
 */
export function lowerComputeAt(
  ctx: LowerCtx,
  name: string,
  frame: StageFrame,
  at: Attachments,
  expr: Expr,
  lowerStage: StageLowering,
): Expr {
  for (const [loop, members] of chainsAt(ctx.state, name)) {
    const c = frame.position(loop);
    const perThread = frame.parallelThrough(c);
    const chain = chainRegions(members, {
      program: ctx.program,
      consumerExpr: expr,
      innerVars: frame.innerVars(c),
      ranges: frame.ranges,
      readsOf,
      regionOf: (reads, inner, all, tensor) => {
        const reg = regionOf(reads, inner, all, name, loop, tensor);
        checkCopySize(reg.spans, name, loop, `compute_at region of ${tensor}`);
        return reg;
      },
      inlined: (e) => inlineReads(ctx, e),
      bufferName: (p) => freshBufferName(ctx, `${p}_region`),
    });
    const inner: LowerCtx = {
      ...ctx,
      ranges: frame.outerRanges(c),
      inParallel: perThread,
      chain: new Map([...ctx.chain, ...chain]),
    };
    for (const p of members) {
      const reg = chain.get(p)!;
      ctx.buffers.push({
        name: reg.buffer,
        shape: reg.spans,
        role: "temp",
        perThread,
        registers: false,
      });
      at.attach(c + 1, [{ k: "alloc", buf: reg.buffer }, ...lowerStage(inner, p, reg)]);
      expr = redirectToRegion(expr, p, reg);
    }
  }
  return expr;
}

/** Reads of a producer's output become reads of its region buffer. */
export function redirectToRegion(e: Expr, producer: string, reg: Region): Expr {
  return redirectReads(e, producer, reg.buffer, (idx) => idx.map((x, d) => sub(x, reg.lo[d])));
}

/** prepare: the kernel reads a weight re-laid once, before it runs. */
/**
 * Redirects the stage's reads of each prepared weight to its prepared buffer; `preparedAs`
 * receives the buffer's name per weight (a prefetch of the weight follows it there).
 */
export function lowerPrepared(
  ctx: LowerCtx,
  name: string,
  frame: StageFrame,
  expr: Expr,
  preparedAs: Map<string, string>,
): Expr {
  for (const weight of stageState(ctx.state, name).prepared) {
    const reads = readsOf(expr, weight);
    if (reads.length === 0) continue;
    const prepared = prepareWeight({
      stage: name,
      weight,
      weightShape: tensorShape(ctx.program, weight),
      access: singleAccess(reads, weight, "prepare", name),
      loops: frame.loops,
      bufferName: freshBufferName(ctx, `${name}_${weight}_prep`),
    });
    ctx.buffers.push(prepared.buffer);
    ctx.prepare.push(...prepared.fill);
    expr = redirectReads(expr, weight, prepared.buffer.name, () => [...prepared.index]);
    preparedAs.set(weight, prepared.buffer.name);
  }
  return expr;
}

/** pack / cache_read: copy an operand tile into a contiguous buffer at loop c. */
export function lowerCopies(
  ctx: LowerCtx,
  name: string,
  frame: StageFrame,
  at: Attachments,
  expr: Expr,
): Expr {
  for (const copy of stageState(ctx.state, name).copies) {
    const c = frame.position(copy.at);
    const reads = readsOf(expr, copy.tensor);
    if (reads.length === 0) continue;
    const shape = tensorShape(ctx.program, copy.tensor);
    const source = copy.tensor;
    const buffer = freshBufferName(
      ctx,
      `${name}_${copy.tensor}_${copy.layout === "pack" ? "pack" : "tile"}`,
    );
    const perThread = frame.parallelThrough(c);
    let bufShape: number[];
    let copyLoops: NestLoop[];
    let srcIdx: IntExpr[];
    let dstIdx: IntExpr[];
    if (copy.layout === "pack") {
      const access = singleAccess(reads, copy.tensor, "pack", name, copy.at);
      const used = new Set(access.flatMap((x) => [...freeVars(x)]));
      copyLoops = frame.loops
        .slice(c + 1)
        .filter((l) => used.has(l.v))
        .map((l) => ({ ...l, kind: "serial" as const }));
      if (copyLoops.length === 0) {
        throw new ScheduleError(
          `no loop inside it indexes '${copy.tensor}'; there is nothing to pack`,
          name,
          copy.at,
        );
      }
      bufShape = copyLoops.map((l) => l.extent);
      srcIdx = reads[0];
      dstIdx = copyLoops.map((l) => intVar(l.v));
      expr = redirectReads(expr, copy.tensor, buffer, () => dstIdx);
    } else {
      const reg = regionOf(reads, frame.innerVars(c), frame.ranges, name, copy.at, copy.tensor);
      bufShape = [...reg.spans];
      copyLoops = reg.spans.map((span, d) => ({
        v: `${buffer}.d${d}`,
        extent: span,
        kind: "serial" as const,
      }));
      dstIdx = copyLoops.map((l) => intVar(l.v));
      srcIdx = reg.lo.map((lo, d) => add(lo, dstIdx[d]));
      expr = redirectReads(expr, copy.tensor, buffer, (idx) =>
        idx.map((x, d) => sub(x, reg.lo[d])),
      );
    }
    checkCopySize(
      bufShape,
      name,
      copy.at,
      `${copy.layout === "pack" ? "pack" : "cache_read"} of ${copy.tensor}`,
    );
    ctx.buffers.push({ name: buffer, shape: bufShape, role: "pack", perThread, registers: false });
    const copyRanges = frame.outerRanges(c);
    for (const l of copyLoops) copyRanges.set(l.v, { lo: 0, hi: l.extent - 1 });
    const bounds = inBoundsGuards(srcIdx, shape, copyRanges);
    const copyStmt: Stmt = {
      k: "store",
      buf: buffer,
      idx: dstIdx,
      value: { k: "read", tensor: source, idx: srcIdx },
    };
    at.attach(c + 1, [{ k: "alloc", buf: buffer }, ...buildNest(copyLoops, bounds, [copyStmt])]);
  }
  return expr;
}

function checkCopySize(shape: readonly number[], stage: string, loop: string, what: string) {
  const size = shape.reduce((n, d) => n * d, 1);
  if (size > MAX_COPY_FLOATS) {
    throw new ScheduleError(
      `${what} would need ${size} floats (at most ${MAX_COPY_FLOATS}); attach it at an inner loop`,
      stage,
      loop,
    );
  }
}
