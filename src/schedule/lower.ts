/**
 * Lowering: schedule state -> loop nest. This is where every transformation gets its
 * meaning (guards for non-dividing splits, reduction init placement, local accumulators,
 * packed operand buffers, compute_at regions) and where access-pattern legality is
 * decided, so a schedule that lowers is a schedule that codegen can emit correctly.
 */
import {
  add,
  coefficientOf,
  floorDiv,
  freeVars,
  intConst,
  intVar,
  intervalOf,
  mod,
  mul,
  printInt,
  simplify,
  sub,
  substitute,
  toLinear,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import type { BufferDecl, LoweredProgram, Stmt } from "../ir/loop-nest.ts";
import type { Expr, Program } from "../ir/program.ts";
import { forEachRead, identityOf, mapExpr, tensorShape } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { prepareWeight } from "./lower-prepare.ts";
import { buildNest, inBoundsGuards, type Guard, type NestLoop } from "./nest-builder.ts";
import { loopExtents, stageDefinition, stageState, type ScheduleState } from "./state.ts";

/** Largest workspace copy (pack, cache_read, compute_at region), in floats. */
const MAX_COPY_FLOATS = 16 * 1024 * 1024;
/** Largest cache_write accumulator, in floats: it lives on the stack. */
const MAX_LOCAL_FLOATS = 64 * 1024;
/** Largest number of statement copies one unrolled body may expand to. */
const MAX_UNROLLED_COPIES = 2048;

interface Region {
  readonly buffer: string;
  readonly lo: readonly IntExpr[];
  readonly spans: readonly number[];
}

interface Ctx {
  readonly state: ScheduleState;
  readonly program: Program;
  readonly buffers: BufferDecl[];
  /** Statements filling prepared weights, run once before the kernel body. */
  readonly prepare: Stmt[];
  readonly ranges: ReadonlyMap<string, Interval>;
  readonly inParallel: boolean;
}

type ReadNode = Extract<Expr, { k: "read" }>;

export function lower(state: ScheduleState): LoweredProgram {
  const program = state.program;
  const buffers: BufferDecl[] = [];
  const decl = (name: string, shape: readonly number[], role: BufferDecl["role"]) =>
    buffers.push({ name, shape, role, perThread: false, registers: false });
  for (const t of program.inputs) decl(t.name, t.shape, "input");
  for (const s of program.stages) {
    const st = stageState(state, s.name);
    if (program.outputs.includes(s.name)) decl(s.name, tensorShape(program, s.name), "output");
    else if (st.placement.k === "root") decl(s.name, tensorShape(program, s.name), "temp");
  }
  const prepare: Stmt[] = [];
  const ctx: Ctx = { state, program, buffers, prepare, ranges: new Map(), inParallel: false };
  const body: Stmt[] = [];
  for (const s of program.stages) {
    if (stageState(state, s.name).placement.k === "root") body.push(...lowerStage(ctx, s.name));
  }
  const lowered: LoweredProgram = { program, buffers, body, prepare };
  checkLoweredNest(lowered);
  return lowered;
}

function freshBufferName(ctx: Ctx, base: string): string {
  const taken = new Set([
    ...ctx.buffers.map((b) => b.name),
    ...ctx.program.inputs.map((t) => t.name),
    ...ctx.program.stages.map((s) => s.name),
  ]);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  return name;
}

/** Replaces reads of inlined stages by their bodies, recursively. */
function inlineReads(ctx: Ctx, e: Expr): Expr {
  return mapExpr(e, (r) => {
    const st = ctx.state.stages.find((s) => s.name === r.tensor);
    if (!st || st.placement.k !== "inline") return r;
    const producer = stageDefinition(ctx.program, r.tensor);
    const env = new Map(producer.axes.map((a, d) => [a.name, r.idx[d]]));
    const body = mapExpr(
      producer.body,
      (x) => x,
      (i) => substitute(i, env),
    );
    return inlineReads(ctx, body);
  });
}

function lowerStage(ctx: Ctx, name: string, region?: Region): Stmt[] {
  const stage = stageDefinition(ctx.program, name);
  const st = stageState(ctx.state, name);
  const q = (loop: string) => `${name}.${loop}`;
  const rootExtents = new Map<string, number>([
    ...stage.axes.map((a, d): [string, number] => [a.name, region ? region.spans[d] : a.extent]),
    ...stage.reduceAxes.map((a): [string, number] => [a.name, a.extent]),
  ]);
  const ext = loopExtents(st, rootExtents);
  const loops: NestLoop[] = st.loops.map((l) => ({
    v: q(l.name),
    extent: ext.get(l.name)!,
    kind: l.annotation,
  }));
  const ranges = new Map(ctx.ranges);
  for (const l of loops) ranges.set(l.v, { lo: 0, hi: l.extent - 1 });

  // Axis values in terms of the current loops, undoing splits and fuses.
  const env = new Map<string, IntExpr>(st.loops.map((l) => [l.name, intVar(q(l.name))]));
  for (const r of [...st.relations].reverse()) {
    if (r.k === "split") {
      env.set(r.parent, add(mul(env.get(r.outer)!, r.factor), env.get(r.inner)!));
    } else {
      const innerExtent = ext.get(r.inner)!;
      env.set(r.outer, floorDiv(env.get(r.fused)!, innerExtent));
      env.set(r.inner, mod(env.get(r.fused)!, innerExtent));
    }
  }
  const localAxis = (a: string) => env.get(a)!;
  const globalEnv = new Map<string, IntExpr>([
    ...stage.axes.map((a, d): [string, IntExpr] => [
      a.name,
      region ? add(region.lo[d], localAxis(a.name)) : localAxis(a.name),
    ]),
    ...stage.reduceAxes.map((a): [string, IntExpr] => [a.name, localAxis(a.name)]),
  ]);

  // Guards keep every axis inside its domain when splits do not divide.
  const guards: Guard[] = [];
  const addGuard = (lhs: IntExpr, rhs: IntExpr) => {
    const iv = intervalOf(simplify(sub(lhs, rhs)), ranges);
    if (iv.hi >= 0) guards.push({ lhs, rhs });
  };
  for (const a of [...stage.axes, ...stage.reduceAxes])
    addGuard(localAxis(a.name), intConst(rootExtents.get(a.name)!));
  if (region) stage.axes.forEach((a) => addGuard(globalEnv.get(a.name)!, intConst(a.extent)));
  // A non-dividing split of a loop that is itself a split or fuse result overruns that loop.
  for (const r of st.relations) {
    if (r.k === "split" && !rootExtents.has(r.parent))
      addGuard(env.get(r.parent)!, intConst(ext.get(r.parent)!));
  }

  let expr = mapExpr(
    inlineReads(ctx, stage.body),
    (r) => r,
    (i) => substitute(i, globalEnv),
  );
  const outBuffer = region ? region.buffer : name;
  const outIdx = stage.axes.map((a) => (region ? localAxis(a.name) : globalEnv.get(a.name)!));

  const pre = new Map<number, Stmt[]>();
  const post = new Map<number, Stmt[]>();
  const attach = (d: number, stmts: Stmt[], after = false) => {
    const m = after ? post : pre;
    m.set(d, [...(m.get(d) ?? []), ...stmts]);
  };
  const position = (loop: string) => st.loops.findIndex((l) => l.name === loop);
  const parallelThrough = (c: number) =>
    ctx.inParallel || loops.slice(0, c + 1).some((l) => l.kind === "parallel");
  const outerRanges = (c: number) => {
    const r = new Map(ctx.ranges);
    for (const l of loops.slice(0, c + 1)) r.set(l.v, { lo: 0, hi: l.extent - 1 });
    return r;
  };
  const innerVars = (c: number) => new Set(loops.slice(c + 1).map((l) => l.v));

  // compute_at producers: their region of output is computed inside loop c.
  for (const p of ctx.state.stages) {
    if (p.placement.k !== "at" || p.placement.consumer !== name) continue;
    const c = position(p.placement.loop);
    const reads = readsOf(expr, p.name);
    const reg = regionOf(reads, innerVars(c), ranges, name, p.placement.loop, p.name);
    checkCopySize(reg.spans, name, p.placement.loop, `compute_at region of ${p.name}`);
    const buffer = freshBufferName(ctx, `${p.name}_region`);
    const perThread = parallelThrough(c);
    ctx.buffers.push({ name: buffer, shape: reg.spans, role: "temp", perThread, registers: false });
    const inner: Ctx = { ...ctx, ranges: outerRanges(c), inParallel: perThread };
    attach(c + 1, [
      { k: "alloc", buf: buffer },
      ...lowerStage(inner, p.name, { buffer, lo: reg.lo, spans: reg.spans }),
    ]);
    expr = redirectReads(expr, p.name, buffer, (idx) => idx.map((x, d) => sub(x, reg.lo[d])));
  }

  // prepare: the kernel reads a weight re-laid once, before it runs.
  for (const weight of st.prepared) {
    const reads = readsOf(expr, weight);
    if (reads.length === 0) continue;
    const prepared = prepareWeight({
      stage: name,
      weight,
      weightShape: tensorShape(ctx.program, weight),
      access: singleAccess(reads, weight, "prepare", name),
      loops,
      bufferName: freshBufferName(ctx, `${name}_${weight}_prep`),
    });
    ctx.buffers.push(prepared.buffer);
    ctx.prepare.push(...prepared.fill);
    expr = redirectReads(expr, weight, prepared.buffer.name, () => [...prepared.index]);
  }

  // pack / cache_read: copy an operand tile into a contiguous buffer at loop c.
  for (const copy of st.copies) {
    const c = position(copy.at);
    const reads = readsOf(expr, copy.tensor);
    if (reads.length === 0) continue;
    const shape = tensorShape(ctx.program, copy.tensor);
    const source = copy.tensor;
    const buffer = freshBufferName(
      ctx,
      `${name}_${copy.tensor}_${copy.layout === "pack" ? "pack" : "tile"}`,
    );
    const perThread = parallelThrough(c);
    let bufShape: number[];
    let copyLoops: NestLoop[];
    let srcIdx: IntExpr[];
    let dstIdx: IntExpr[];
    if (copy.layout === "pack") {
      const access = singleAccess(reads, copy.tensor, "pack", name, copy.at);
      const used = new Set(access.flatMap((x) => [...freeVars(x)]));
      copyLoops = loops
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
      const reg = regionOf(reads, innerVars(c), ranges, name, copy.at, copy.tensor);
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
    const copyRanges = outerRanges(c);
    for (const l of copyLoops) copyRanges.set(l.v, { lo: 0, hi: l.extent - 1 });
    const bounds = inBoundsGuards(srcIdx, shape, copyRanges);
    const copyStmt: Stmt = {
      k: "store",
      buf: buffer,
      idx: dstIdx,
      value: { k: "read", tensor: source, idx: srcIdx },
    };
    attach(c + 1, [{ k: "alloc", buf: buffer }, ...buildNest(copyLoops, bounds, [copyStmt])]);
  }

  // Reduction init and local accumulation (cache_write).
  const spatialInside = (d: number) => loops.slice(d).filter((_, i) => !st.loops[d + i].reduce);
  const r0 = st.loops.findIndex((l) => l.reduce);
  const cw = st.cacheWriteAt === undefined ? -1 : position(st.cacheWriteAt);
  const combine = (acc: Expr, v: Expr): Expr =>
    stage.combiner === "max"
      ? { k: "bin", op: "max", a: acc, b: v }
      : { k: "bin", op: "+", a: acc, b: v };
  const identity: Expr = { k: "const", v: stage.combiner ? identityOf(stage.combiner) : 0 };
  const spatialGuards = (nest: NestLoop[], outer: ReadonlyMap<string, Interval>) => {
    const avail = new Set([...outer.keys(), ...nest.map((l) => l.v)]);
    return guards.filter((g) => [...freeVars(sub(g.lhs, g.rhs))].every((v) => avail.has(v)));
  };
  if (r0 >= 0 && !(cw >= 0 && cw < r0)) {
    const nestLoops = spatialInside(r0 + 1);
    const outer = outerRanges(r0 - 1);
    const init: Stmt = { k: "store", buf: outBuffer, idx: outIdx, value: identity };
    attach(r0, buildNest(nestLoops, spatialGuards(nestLoops, outer), [init]));
  }
  let target = { buf: outBuffer, idx: outIdx };
  if (cw >= 0) {
    const localLoops = spatialInside(cw + 1);
    const shape = localLoops.map((l) => l.extent);
    if (shape.reduce((n, d) => n * d, 1) > MAX_LOCAL_FLOATS) {
      throw new ScheduleError(
        `local accumulator of ${shape.join("x")} floats is too large (at most ${MAX_LOCAL_FLOATS}); cache_write at an inner loop`,
        name,
        st.cacheWriteAt,
      );
    }
    const vectorLast = localLoops.every(
      (l, i) => l.kind === "unroll" || (l.kind === "vector" && i === localLoops.length - 1),
    );
    const local = freshBufferName(ctx, `${name}_local`);
    const lanes = localLoops.at(-1)?.kind === "vector" ? localLoops.at(-1)!.extent : 1;
    ctx.buffers.push({
      name: local,
      shape,
      role: "local",
      perThread: false,
      registers: vectorLast,
      lanes,
    });
    const localIdx = localLoops.map((l) => intVar(l.v));
    const outer = outerRanges(cw);
    const nestGuards = spatialGuards(localLoops, outer);
    const loadsOutput = r0 >= 0 && r0 <= cw;
    const initValue: Expr =
      loadsOutput || r0 < 0 ? { k: "read", tensor: outBuffer, idx: outIdx } : identity;
    const prologue: Stmt[] = [{ k: "alloc", buf: local }];
    if (r0 >= 0)
      prologue.push(
        ...buildNest(localLoops, nestGuards, [
          { k: "store", buf: local, idx: localIdx, value: initValue },
        ]),
      );
    attach(cw + 1, prologue);
    const writeBack: Stmt = {
      k: "store",
      buf: outBuffer,
      idx: outIdx,
      value: { k: "read", tensor: local, idx: localIdx },
    };
    attach(cw + 1, buildNest(localLoops, nestGuards, [writeBack]), true);
    target = { buf: local, idx: localIdx };
  }
  const value = stage.combiner
    ? combine({ k: "read", tensor: target.buf, idx: target.idx }, expr)
    : expr;
  const main: Stmt = { k: "store", buf: target.buf, idx: target.idx, value };
  return buildNest(loops, guards, [main], pre, post);
}

/** The one index pattern at which a stage reads a tensor that pack or prepare re-lays. */
function singleAccess(
  reads: readonly IntExpr[][],
  tensor: string,
  what: "pack" | "prepare",
  stage: string,
  loop?: string,
): IntExpr[] {
  const first = reads[0].map((x) => printInt(x)).join(",");
  if (reads.some((r) => r.map((x) => printInt(x)).join(",") !== first)) {
    throw new ScheduleError(
      `'${tensor}' is read at several different indices; ${what} needs one access pattern (use cache_read)`,
      stage,
      loop,
    );
  }
  return reads[0];
}

function readsOf(e: Expr, tensor: string): IntExpr[][] {
  const out: IntExpr[][] = [];
  forEachRead(e, (r) => {
    if (r.tensor === tensor) out.push([...r.idx]);
  });
  return out;
}

function redirectReads(
  e: Expr,
  tensor: string,
  buffer: string,
  reindex: (idx: readonly IntExpr[]) => IntExpr[],
): Expr {
  return mapExpr(e, (r: ReadNode): Expr =>
    r.tensor === tensor ? { k: "read", tensor: buffer, idx: reindex(r.idx).map(simplify) } : r,
  );
}

/**
 * The box of a tensor touched by `reads` while the loops in `inner` run, as a start
 * that depends only on outer loops and a static span per dimension.
 */
function regionOf(
  reads: IntExpr[][],
  inner: ReadonlySet<string>,
  allRanges: ReadonlyMap<string, Interval>,
  stage: string,
  loop: string,
  tensor: string,
): { lo: IntExpr[]; spans: number[] } {
  if (reads.length === 0) throw new ScheduleError(`does not read '${tensor}'`, stage, loop);
  const rank = reads[0].length;
  const lo: IntExpr[] = [];
  const spans: number[] = [];
  for (let d = 0; d < rank; d++) {
    let symbolic: string | undefined;
    let symbolicExpr: IntExpr = intConst(0);
    let min = Infinity;
    let max = -Infinity;
    for (const r of reads) {
      const lin = toLinear(simplify(r[d]));
      let outerPart: IntExpr = intConst(0);
      let innerPart: IntExpr = intConst(lin.c);
      for (const { atom, coef } of lin.terms.values()) {
        const vars = [...freeVars(atom)];
        const term = mul(atom, coef);
        if (vars.every((v) => !inner.has(v))) outerPart = add(outerPart, term);
        else if (vars.every((v) => inner.has(v))) innerPart = add(innerPart, term);
        else {
          throw new ScheduleError(
            `index of '${tensor}' in dimension ${d} (${printInt(r[d])}) mixes loops inside and outside ${loop}; its region cannot be inferred`,
            stage,
            loop,
          );
        }
      }
      const key = printInt(outerPart);
      if (symbolic !== undefined && symbolic !== key) {
        throw new ScheduleError(
          `'${tensor}' is read at unrelated offsets in dimension ${d}; its region cannot be inferred`,
          stage,
          loop,
        );
      }
      symbolic = key;
      symbolicExpr = outerPart;
      const iv = intervalOf(innerPart, allRanges);
      min = Math.min(min, iv.lo);
      max = Math.max(max, iv.hi);
    }
    lo.push(simplify(add(symbolicExpr, min)));
    spans.push(max - min + 1);
  }
  return { lo, spans };
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

/** Whole-nest checks: vector loop bodies, nested parallelism, unroll budget. */
function checkLoweredNest(lp: LoweredProgram): void {
  const stageOfVar = (v: string) => v.slice(0, v.indexOf("."));
  const loopOfVar = (v: string) => v.slice(v.indexOf(".") + 1);
  const ranges = new Map<string, Interval>();
  const walk = (stmts: readonly Stmt[], parallel: string | undefined, unrolled: number) => {
    for (const s of stmts) {
      if (s.k === "for") {
        ranges.set(s.v, { lo: 0, hi: s.extent - 1 });
        if (s.kind === "parallel" && parallel) {
          throw new ScheduleError(
            `parallel loop nested inside parallel loop ${parallel}; only one level of parallelism is supported`,
            stageOfVar(s.v),
            loopOfVar(s.v),
          );
        }
        const copies = s.kind === "unroll" ? unrolled * s.extent : unrolled;
        if (copies > MAX_UNROLLED_COPIES) {
          throw new ScheduleError(
            `unrolling expands the body to ${copies} copies (at most ${MAX_UNROLLED_COPIES})`,
            stageOfVar(s.v),
            loopOfVar(s.v),
          );
        }
        if (s.kind === "vector") checkVectorBody(lp, s, ranges);
        walk(s.body, s.kind === "parallel" ? s.v : parallel, copies);
      } else if (s.k === "if") {
        walk(s.body, parallel, unrolled);
      }
    }
  };
  walk(lp.body, undefined, 1);
}

function checkVectorBody(
  lp: LoweredProgram,
  loop: Extract<Stmt, { k: "for" }>,
  ranges: ReadonlyMap<string, Interval>,
): void {
  const stage = loop.v.slice(0, loop.v.indexOf("."));
  const name = loop.v.slice(loop.v.indexOf(".") + 1);
  const fail = (why: string): never => {
    throw new ScheduleError(why, stage, name);
  };
  for (const s of loop.body) {
    if (s.k !== "store")
      fail("nothing can be attached inside a vectorized loop, and it must be the innermost loop");
    const st = s as Extract<Stmt, { k: "store" }>;
    checkContiguous(lp, st.buf, st.idx, loop.v, `store to ${st.buf}`, fail, true);
    forEachRead(st.value, (r, guarded) => {
      const depends = r.idx.some((x) => freeVars(x).has(loop.v));
      // Lanes evaluate both sides of a select: fine only when every lane stays in bounds.
      const shape = lp.buffers.find((b) => b.name === r.tensor)?.shape;
      const inBounds =
        shape !== undefined &&
        r.idx.every((x, d) => {
          const iv = intervalOf(x, ranges);
          return iv.lo >= 0 && iv.hi < shape[d];
        });
      if (guarded && depends && !inBounds)
        fail(
          `'${r.tensor}' is read under a select guard; vector lanes would read it out of bounds`,
        );
      checkContiguous(lp, r.tensor, r.idx, loop.v, `read of ${r.tensor}`, fail, false);
    });
  }
}

function checkContiguous(
  lp: LoweredProgram,
  buffer: string,
  idx: readonly IntExpr[],
  v: string,
  what: string,
  fail: (why: string) => never,
  mustDepend: boolean,
): void {
  const shape = lp.buffers.find((b) => b.name === buffer)?.shape;
  if (!shape) throw new Error(`lowering: no buffer '${buffer}'`);
  const last = idx.length - 1;
  let depends = false;
  let contiguous = true;
  // Elements between consecutive lanes, row-major.
  let stride = 0;
  idx.forEach((x, d) => {
    const c = coefficientOf(x, v);
    if (c === null) fail(`${what} depends on the vectorized loop non-linearly (${printInt(x)})`);
    if (c === 0) return;
    if (d !== last || c !== 1) contiguous = false;
    stride += c * shape.slice(d + 1).reduce((n, e) => n * e, 1);
    depends = true;
  });
  if (!contiguous)
    fail(
      `${what} is not contiguous along the vectorized loop (stride ${stride} elements); reorder or pack so it is innermost`,
    );
  if (mustDepend && !depends)
    fail(`${what} does not depend on the vectorized loop; all lanes would write one element`);
}
