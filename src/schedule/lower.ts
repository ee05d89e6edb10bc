/**
 * Lowering: schedule state -> loop nest. This is where every transformation gets its
 * meaning (guards for non-dividing splits, reduction init placement, local accumulators,
 * packed operand buffers, compute_at regions) and where access-pattern legality is
 * decided, so a schedule that lowers is a schedule that codegen can emit correctly.
 * The parts live beside it: the stage frame (loops, axes, guards), operands read from
 * workspace, accumulation, read rewriting and the whole-nest checks.
 */
import { simplifyInRanges, substitute } from "../ir/int-expr.ts";
import type { BufferDecl, LoweredProgram, Stmt } from "../ir/loop-nest.ts";
import type { Expr } from "../ir/program.ts";
import { constantTensors, forEachRead, mapExpr, tensorShape } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { lowerAccumulation } from "./lower-accumulate.ts";
import { checkLoweredNest } from "./lower-checks.ts";
import { Attachments, type LowerCtx, type Region } from "./lower-context.ts";
import { stageFrame } from "./lower-frame.ts";
import { lowerComputeAt, lowerCopies, lowerPrepared, redirectToRegion } from "./lower-operands.ts";
import { inlineReads } from "./lower-reads.ts";
import { buildNest } from "./nest-builder.ts";
import { lowerPrefetches, markStreamingStores } from "./lower-prefetch.ts";
import { pipelineLoop } from "./lower-pipeline.ts";
import { stageDefinition, stageState, type ScheduleState } from "./state.ts";

export function lower(state: ScheduleState): LoweredProgram {
  const program = state.program;
  const buffers: BufferDecl[] = [];
  const decl = (name: string, shape: readonly number[], role: BufferDecl["role"]) =>
    buffers.push({ name, shape, role, perThread: false, registers: false });
  // Constant stages computed at the root run once, in prepare, into prepared buffers.
  const constants = constantTensors(program);
  const onceBeforeKernel = (name: string) =>
    constants.has(name) && stageState(state, name).placement.k === "root";
  for (const t of program.inputs) decl(t.name, t.shape, "input");
  for (const s of program.stages) {
    const st = stageState(state, s.name);
    const shape = tensorShape(program, s.name);
    if (program.outputs.includes(s.name)) decl(s.name, shape, "output");
    else if (onceBeforeKernel(s.name)) decl(s.name, shape, "prepared");
    else if (st.placement.k === "root") decl(s.name, shape, "temp");
  }
  const prepare: Stmt[] = [];
  const ctx: LowerCtx = {
    state,
    program,
    buffers,
    prepare,
    ranges: new Map(),
    inParallel: false,
    chain: new Map(),
  };
  const body: Stmt[] = [];
  for (const s of program.stages) {
    if (onceBeforeKernel(s.name)) prepare.push(...lowerStage(ctx, s.name));
    else if (stageState(state, s.name).placement.k === "root")
      body.push(...lowerStage(ctx, s.name));
  }
  const lowered: LoweredProgram = { program, buffers, body, prepare };
  checkLoweredNest(lowered);
  return lowered;
}

function lowerStage(ctx: LowerCtx, name: string, region?: Region): Stmt[] {
  const stage = stageDefinition(ctx.program, name);
  const st = stageState(ctx.state, name);
  const frame = stageFrame(ctx, stage, st, region);
  const at = new Attachments();
  let expr = mapExpr(
    inlineReads(ctx, stage.body),
    (r) => r,
    (i) => simplifyInRanges(substitute(i, frame.globalEnv), frame.ranges),
  );
  for (const [producer, reg] of ctx.chain) expr = redirectToRegion(expr, producer, reg);
  expr = lowerComputeAt(ctx, name, frame, at, expr, lowerStage);
  const preparedAs = new Map<string, string>();
  expr = lowerPrepared(ctx, name, frame, expr, preparedAs);
  expr = lowerCopies(ctx, name, frame, at, expr);
  const output = {
    buf: region ? region.buffer : name,
    idx: stage.axes.map((a) => (region ? frame.localAxis(a.name) : frame.globalEnv.get(a.name)!)),
  };
  const { target, term } = lowerAccumulation(ctx, stage, frame, at, output, expr);
  const value: Expr = stage.combiner
    ? {
        k: "bin",
        op: stage.combiner === "max" ? "max" : "+",
        a: { k: "read", tensor: target.buf, idx: target.idx },
        b: term,
      }
    : term;
  // Every read of a producer computed at a loop was redirected to its region above.
  forEachRead(value, (r) => {
    const placement = ctx.state.stages.find((x) => x.name === r.tensor)?.placement;
    if (placement?.k === "at") {
      throw new ScheduleError(
        `reads '${r.tensor}', which is computed inside ${placement.consumer}.${placement.loop}; compute ${name} inside that loop too`,
        name,
      );
    }
  });
  // A prefetched tensor is an input or a prepared weight, both declared by now.
  lowerPrefetches(st, frame, at, value, preparedAs, (tensor) => {
    return ctx.buffers.find((b) => b.name === tensor)!.shape;
  });
  const main: Stmt = { k: "store", buf: target.buf, idx: target.idx, value };
  const nest = markStreamingStores(
    st,
    stage,
    output.buf,
    buildNest(frame.loops, frame.guards, [main], at.pre, at.post),
  );
  return st.pipelined ? pipelineLoop(nest, name, st.pipelined, output.buf, ctx.buffers) : nest;
}
