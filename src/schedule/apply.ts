/**
 * Structural application of one transformation to the schedule state. Checks what can
 * be decided from loop structure alone; access-pattern legality (contiguity, regions,
 * buffer sizes) is decided by lowering, which every accepted step goes through.
 */
import { EMITTABLE_VECTOR_WIDTHS } from "../target/gnu-vectors.ts";
import { add, intVar, mul, substitute, type IntExpr } from "../ir/int-expr.ts";
import type { Program, Stage } from "../ir/program.ts";
import { forEachRead, isConstant, mapExpr } from "../ir/program.ts";
import { select, icmp } from "../ir/builder.ts";
import { requireChainAt } from "./consumers.ts";
import { ScheduleError } from "./errors.ts";
import {
  consumersOf,
  initialStageState,
  isUntouched,
  nominalExtents,
  stageDefinition,
  stageState,
  type LoopState,
  type ScheduleState,
  type StageState,
} from "./state.ts";
import type { Transform } from "./transform.ts";
import { requireVectorReduction } from "./vector-reduction.ts";
import { winograd } from "./winograd.ts";

const MAX_UNROLL = 64;

export function applyStructural(state: ScheduleState, t: Transform): ScheduleState {
  const st = stageState(state, t.stage);
  if (st.placement.k === "inline" && t.kind !== "compute_inline") {
    throw new ScheduleError(
      "stage is inlined into its consumers and has no loops of its own",
      t.stage,
    );
  }
  switch (t.kind) {
    case "split":
      return replaceStage(state, split(state, st, t.loop, t.factor, t.outer, t.inner));
    case "tile": {
      const [a, b] = t.loops;
      const [ao, bo, ai, bi] = t.names;
      let next = split(state, st, a, t.factors[0], ao, ai);
      next = split(state, next, b, t.factors[1], bo, bi);
      return replaceStage(state, reorder(next, [ao, bo, ai, bi]));
    }
    case "reorder":
      return replaceStage(state, reorder(st, t.loops));
    case "fuse":
      return replaceStage(state, fuse(state, st, t.outer, t.inner, t.fused));
    case "parallel":
      return replaceStage(state, annotate(state, st, t.loop, "parallel", t.chunk));
    case "vectorize":
      return replaceStage(state, annotate(state, st, t.loop, "vector"));
    case "unroll":
      return replaceStage(state, annotate(state, st, t.loop, "unroll"));
    case "cache_write": {
      requireLoop(st, t.at);
      if (st.cacheWriteAt) {
        throw new ScheduleError(`already accumulates locally at ${st.cacheWriteAt}`, st.name, t.at);
      }
      const at = st.loops.findIndex((l) => l.name === t.at);
      const inside = st.loops.slice(at + 1);
      // With every reduction loop inside, the local holds whole results: in a register
      // (a vector of lanes once the reduction loop is vectorized) even with no spatial loop.
      const wholeReduction =
        inside.some((l) => l.reduce) && st.loops.slice(0, at + 1).every((l) => !l.reduce);
      if (!inside.some((l) => !l.reduce) && !wholeReduction) {
        throw new ScheduleError(
          "no spatial loop inside it: nothing to accumulate locally",
          st.name,
          t.at,
        );
      }
      return replaceStage(state, { ...st, cacheWriteAt: t.at });
    }
    case "pack":
    case "cache_read":
      return replaceStage(
        state,
        copyOperand(state, st, t.tensor, t.at, t.kind === "pack" ? "pack" : "tile"),
      );
    case "prepare":
      return replaceStage(state, prepareWeight(state, st, t.tensor));
    case "compute_at":
      return computeAt(state, st, t.consumer, t.at);
    case "compute_inline":
      return computeInline(state, st);
    case "skip_masked":
      if (st.skipMasked) throw new ScheduleError("already skips its masked iterations", st.name);
      return replaceStage(state, { ...st, skipMasked: true });
    case "stream_store":
      if (st.streamStores) throw new ScheduleError("already streams its stores", st.name);
      return replaceStage(state, { ...st, streamStores: true });
    case "pipeline":
      return replaceStage(state, pipeline(st, t.loop));
    case "prefetch":
      return replaceStage(state, prefetch(state, st, t));
    case "rfactor":
      return rfactor(state, st, t.loop, t.factor, t.outer, t.inner);
    case "winograd":
      return winograd(state, st, (base) => freshStageName(state.program, base));
  }
}

/**
 * `pipeline S.L`: structural checks only; lowering checks the body (producers computed at
 * L, then S's own loop over them) and double-buffers the regions S reads.
 */
function pipeline(st: StageState, loop: string): StageState {
  const l = requireLoop(st, loop);
  if (st.pipelined)
    throw new ScheduleError(`already pipelines loop ${st.pipelined}`, st.name, loop);
  if (l.reduce) throw new ScheduleError("cannot pipeline a reduction loop", st.name, loop);
  if (l.annotation !== "serial") {
    throw new ScheduleError(
      `cannot pipeline a loop marked ${l.annotation}; it must stay serial`,
      st.name,
      loop,
    );
  }
  if (st.placement.k !== "root") {
    throw new ScheduleError("cannot pipeline a stage computed inside another stage", st.name, loop);
  }
  return { ...st, pipelined: loop };
}

function replaceStage(state: ScheduleState, st: StageState): ScheduleState {
  return { ...state, stages: state.stages.map((s) => (s.name === st.name ? st : s)) };
}

function requireLoop(st: StageState, loop: string): LoopState {
  const l = st.loops.find((x) => x.name === loop);
  if (!l) {
    throw new ScheduleError(
      `no such loop (loops: ${st.loops.map((x) => x.name).join(", ")})`,
      st.name,
      loop,
    );
  }
  return l;
}

/** `loop` is the loop being transformed, named in the refusal. */
function requireFreshName(st: StageState, name: string, loop: string) {
  if (st.usedNames.has(name)) {
    throw new ScheduleError(
      `loop name '${name}' is already used in this stage; choose another with '-> NAMES'`,
      st.name,
      loop,
    );
  }
}

/** Attachment points (cache_write, packs, consumers' compute_at) pin a loop's identity. */
function requireUnattached(state: ScheduleState, st: StageState, loop: string, action: string) {
  const uses: string[] = [];
  if (st.cacheWriteAt === loop) uses.push("cache_write");
  for (const c of st.copies)
    if (c.at === loop) uses.push(`${c.layout === "pack" ? "pack" : "cache_read"} of ${c.tensor}`);
  for (const p of st.prefetches ?? [])
    if (p.at === loop || p.ahead === loop) uses.push(`prefetch of ${p.tensor}`);
  if (st.pipelined === loop) uses.push("pipeline");
  for (const p of state.stages) {
    if (p.placement.k === "at" && p.placement.consumer === st.name && p.placement.loop === loop) {
      uses.push(`compute_at of ${p.name}`);
    }
  }
  if (uses.length > 0) {
    throw new ScheduleError(
      `cannot ${action} a loop that ${uses.join(", ")} is attached to`,
      st.name,
      loop,
    );
  }
}

function split(
  state: ScheduleState,
  st: StageState,
  loop: string,
  factor: number,
  outer: string,
  inner: string,
): StageState {
  const l = requireLoop(st, loop);
  if (l.annotation !== "serial") {
    throw new ScheduleError(`cannot split a loop already marked ${l.annotation}`, st.name, loop);
  }
  requireUnattached(state, st, loop, "split");
  const extent = nominalExtents(state.program, st).get(loop)!;
  if (factor < 2 || factor >= extent) {
    throw new ScheduleError(
      `split factor ${factor} must be between 2 and ${extent - 1} (the loop's extent is ${extent})`,
      st.name,
      loop,
    );
  }
  if (outer === inner)
    throw new ScheduleError("the two new loops need different names", st.name, loop);
  requireFreshName(st, outer, loop);
  requireFreshName(st, inner, loop);
  const loops = st.loops.flatMap((x) =>
    x.name === loop
      ? [
          { name: outer, reduce: x.reduce, annotation: "serial" as const },
          { name: inner, reduce: x.reduce, annotation: "serial" as const },
        ]
      : [x],
  );
  return {
    ...st,
    loops,
    relations: [...st.relations, { k: "split", parent: loop, outer, inner, factor }],
    usedNames: new Set([...st.usedNames, outer, inner]),
  };
}

function reorder(st: StageState, order: readonly string[]): StageState {
  if (new Set(order).size !== order.length)
    throw new ScheduleError("reorder names a loop twice", st.name);
  for (const n of order) requireLoop(st, n);
  const positions = order.map((n) => st.loops.findIndex((l) => l.name === n)).sort((a, b) => a - b);
  const loops = [...st.loops];
  positions.forEach((pos, i) => {
    loops[pos] = st.loops.find((l) => l.name === order[i])!;
  });
  if (loops.every((l, i) => l === st.loops[i])) {
    throw new ScheduleError(`loops are already in the order ${order.join(" ")}`, st.name);
  }
  return { ...st, loops };
}

function fuse(
  state: ScheduleState,
  st: StageState,
  outer: string,
  inner: string,
  fused: string,
): StageState {
  const o = requireLoop(st, outer);
  const i = requireLoop(st, inner);
  const pos = st.loops.indexOf(o);
  if (st.loops[pos + 1] !== i) {
    throw new ScheduleError(
      `can only fuse a loop with the loop directly inside it (${inner} is not directly inside ${outer})`,
      st.name,
      outer,
    );
  }
  if (o.reduce !== i.reduce)
    throw new ScheduleError("cannot fuse a spatial loop with a reduction loop", st.name, outer);
  for (const l of [o, i]) {
    if (l.annotation !== "serial")
      throw new ScheduleError(`cannot fuse a loop marked ${l.annotation}`, st.name, l.name);
  }
  requireFreshName(st, fused, outer);
  requireUnattached(state, st, outer, "fuse");
  requireUnattached(state, st, inner, "fuse");
  const loops = [...st.loops];
  loops.splice(pos, 2, { name: fused, reduce: o.reduce, annotation: "serial" });
  return {
    ...st,
    loops,
    relations: [...st.relations, { k: "fuse", outer, inner, fused }],
    usedNames: new Set([...st.usedNames, fused]),
  };
}

/**
 * A prefetch is issued at the top of `at`'s body for what the iteration `distance` steps
 * ahead along `ahead` reads first; where that lies past the tensor, the hint is harmless
 * (prefetches do not fault). Only which loops exist is decided here: that the stage reads
 * the tensor directly, `ahead` encloses `at` and `at` is no vector loop is decided by
 * lowering, after every move.
 */
function prefetch(
  state: ScheduleState,
  st: StageState,
  t: Extract<Transform, { kind: "prefetch" }>,
): StageState {
  const { tensor, at, ahead, distance } = t;
  if (!consumersOf(state.program, tensor).includes(st.name))
    throw new ScheduleError(`does not read '${tensor}'`, st.name);
  requireLoop(st, at);
  requireLoop(st, ahead);
  const prefetches = st.prefetches ?? [];
  if (prefetches.some((p) => p.tensor === tensor && p.at === at))
    throw new ScheduleError(`already prefetches ${tensor} here`, st.name, at);
  const added = { tensor, at, ahead, distance, ...(t.spread ? { spread: true } : {}) };
  return { ...st, prefetches: [...prefetches, added] };
}

function annotate(
  state: ScheduleState,
  st: StageState,
  loop: string,
  annotation: "parallel" | "vector" | "unroll",
  chunk?: number,
): StageState {
  const l = requireLoop(st, loop);
  // A static parallel loop may still be handed out dynamically: a tune that starts from a
  // best with equal parts can then try the other way of sharing them.
  const toDynamic =
    annotation === "parallel" &&
    chunk !== undefined &&
    l.annotation === "parallel" &&
    l.chunk === undefined;
  if (l.annotation !== "serial" && !toDynamic)
    throw new ScheduleError(`loop is already marked ${l.annotation}`, st.name, loop);
  if (st.pipelined === loop)
    throw new ScheduleError(`loop is pipelined; it stays serial`, st.name, loop);
  const extent = nominalExtents(state.program, st).get(loop)!;
  if (annotation === "parallel") {
    if (l.reduce) {
      throw new ScheduleError(
        "cannot parallelize a reduction loop; use rfactor to split the reduction and combine the parts first",
        st.name,
        loop,
      );
    }
    const other = st.loops.find((x) => x.annotation === "parallel" && x.name !== loop);
    if (other)
      throw new ScheduleError(
        `loop ${other.name} is already parallel; nested parallelism is not supported`,
        st.name,
        loop,
      );
    if (chunk !== undefined && chunk * 2 > extent)
      throw new ScheduleError(
        `a chunk of ${chunk} leaves the ${extent} iterations fewer than two chunks to share out; use a smaller chunk or a static parallel loop`,
        st.name,
        loop,
      );
  }
  if (annotation === "vector") {
    if (l.reduce) requireVectorReduction(st, loop);
    const last = st.loops[st.loops.length - 1];
    if (last.name !== loop) {
      throw new ScheduleError(
        `only the innermost loop can be vectorized (${last.name} is inside it)`,
        st.name,
        loop,
      );
    }
    if (!EMITTABLE_VECTOR_WIDTHS.includes(extent)) {
      throw new ScheduleError(
        `vector width must be one of ${EMITTABLE_VECTOR_WIDTHS.join(", ")}, the loop's extent is ${extent}; split it first`,
        st.name,
        loop,
      );
    }
  }
  if (annotation === "unroll" && (extent < 2 || extent > MAX_UNROLL)) {
    throw new ScheduleError(
      `can only unroll loops with extent 2..${MAX_UNROLL}, this one has ${extent}; split it first`,
      st.name,
      loop,
    );
  }
  const marked = chunk !== undefined ? { annotation, chunk } : { annotation };
  return { ...st, loops: st.loops.map((x) => (x.name === loop ? { ...x, ...marked } : x)) };
}

function copyOperand(
  state: ScheduleState,
  st: StageState,
  tensor: string,
  at: string,
  layout: "pack" | "tile",
): StageState {
  requireLoop(st, at);
  const producer = state.stages.find((s) => s.name === tensor);
  if (!readsThroughInlined(state, st.name, tensor)) {
    throw new ScheduleError(`stage does not read tensor '${tensor}'`, st.name, at);
  }
  if (producer && producer.placement.k !== "root") {
    throw new ScheduleError(
      `'${tensor}' is ${producer.placement.k === "inline" ? "inlined" : "computed inside a consumer loop"}; only inputs and stages computed at the root can be copied`,
      st.name,
      at,
    );
  }
  if (st.copies.some((c) => c.tensor === tensor) || st.prepared.includes(tensor)) {
    throw new ScheduleError(`'${tensor}' is already copied in this stage`, st.name, at);
  }
  return { ...st, copies: [...st.copies, { tensor, at, layout }] };
}

function prepareWeight(state: ScheduleState, st: StageState, tensor: string): StageState {
  const program = state.program;
  if (
    !program.inputs.some((t) => t.name === tensor) &&
    !program.stages.some((s) => s.name === tensor)
  ) {
    throw new ScheduleError(`unknown tensor '${tensor}'`, st.name);
  }
  if (!isConstant(program, tensor)) {
    throw new ScheduleError(
      `'${tensor}' is not a weight (weights: ${program.weights.join(", ") || "none"}) nor computed from weights alone; only tensors constant across calls can be prepared once; use pack`,
      st.name,
    );
  }
  if (!readsThroughInlined(state, st.name, tensor)) {
    throw new ScheduleError(`stage does not read weight '${tensor}'`, st.name);
  }
  if (st.prepared.includes(tensor)) {
    throw new ScheduleError(`'${tensor}' is already prepared for this stage`, st.name);
  }
  if (st.copies.some((c) => c.tensor === tensor)) {
    throw new ScheduleError(
      `'${tensor}' is already copied in this stage with a pack or cache_read`,
      st.name,
    );
  }
  return { ...st, prepared: [...st.prepared, tensor] };
}

/** Whether a stage reads a tensor, directly or through the bodies of stages inlined into it. */
function readsThroughInlined(state: ScheduleState, stage: string, tensor: string): boolean {
  let reads = false;
  forEachRead(stageDefinition(state.program, stage).body, (r) => {
    if (r.tensor === tensor) reads = true;
    else if (state.stages.find((s) => s.name === r.tensor)?.placement.k === "inline") {
      reads ||= readsThroughInlined(state, r.tensor, tensor);
    }
  });
  return reads;
}

function computeAt(
  state: ScheduleState,
  st: StageState,
  consumer: string,
  at: string,
): ScheduleState {
  if (state.program.outputs.includes(st.name)) {
    throw new ScheduleError(
      "is an output of the program; it must be computed at the root",
      st.name,
    );
  }
  const c = stageState(state, consumer);
  if (c.placement.k === "inline")
    throw new ScheduleError("consumer is inlined; it has no loops", consumer, at);
  requireLoop(c, at);
  requireChainAt(state, st.name, consumer, at);
  if (c.copies.some((x) => x.tensor === st.name)) {
    throw new ScheduleError(
      `consumer ${consumer} copies '${st.name}' with a pack or cache_read; cannot also compute it inside`,
      st.name,
    );
  }
  if (st.placement.k === "at" && st.placement.consumer === consumer && st.placement.loop === at) {
    throw new ScheduleError(`is already computed at ${consumer}.${at}`, st.name);
  }
  return replaceStage(state, { ...st, placement: { k: "at", consumer, loop: at } });
}

function computeInline(state: ScheduleState, st: StageState): ScheduleState {
  const stage = stageDefinition(state.program, st.name);
  if (st.placement.k === "inline") throw new ScheduleError("is already inlined", st.name);
  if (state.program.outputs.includes(st.name)) {
    throw new ScheduleError("is an output of the program and cannot be inlined", st.name);
  }
  if (stage.reduceAxes.length > 0) {
    throw new ScheduleError(
      "has a reduction; only element-wise stages can be inlined (use compute_at instead)",
      st.name,
    );
  }
  const initial = initialStageState(state.program, st.name);
  const reordered = st.loops.some((l, i) => l.name !== initial.loops[i].name);
  const annotated = st.loops.some((l) => l.annotation !== "serial");
  if (
    st.relations.length > 0 ||
    reordered ||
    annotated ||
    st.cacheWriteAt ||
    st.copies.length > 0 ||
    st.prepared.length > 0 ||
    st.skipMasked
  ) {
    throw new ScheduleError(
      "has loop transformations of its own, which inlining would discard; inline it before scheduling it",
      st.name,
    );
  }
  for (const s of state.stages) {
    if (s.copies.some((c) => c.tensor === st.name)) {
      throw new ScheduleError(
        `stage ${s.name} packs it; an inlined stage has no buffer to copy`,
        st.name,
      );
    }
    if (s.placement.k === "at" && s.placement.consumer === st.name) {
      throw new ScheduleError(`stage ${s.name} is computed at one of its loops`, st.name);
    }
  }
  return replaceStage(state, { ...st, placement: { k: "inline" } });
}

function rfactor(
  state: ScheduleState,
  st: StageState,
  loop: string,
  factor: number,
  outer: string,
  inner: string,
): ScheduleState {
  const stage = stageDefinition(state.program, st.name);
  const axis = stage.reduceAxes.find((a) => a.name === loop);
  if (!axis) {
    throw new ScheduleError(
      `rfactor needs an original reduction axis (reduction axes: ${stage.reduceAxes.map((a) => a.name).join(", ") || "none"})`,
      st.name,
      loop,
    );
  }
  if (!isUntouched(state, st)) {
    throw new ScheduleError(
      "rfactor must come before any other transformation of the stage",
      st.name,
      loop,
    );
  }
  if (factor < 2 || factor >= axis.extent) {
    throw new ScheduleError(
      `rfactor factor ${factor} must be between 2 and ${axis.extent - 1}`,
      st.name,
      loop,
    );
  }
  const taken = new Set([...stage.axes, ...stage.reduceAxes].map((a) => a.name));
  for (const n of [outer, inner]) {
    if (taken.has(n))
      throw new ScheduleError(`name '${n}' is already an axis of the stage`, st.name, loop);
  }
  if (outer === inner)
    throw new ScheduleError("the two new axes need different names", st.name, loop);
  const rfName = freshStageName(state.program, `${st.name}_rf`);
  const parts = Math.ceil(axis.extent / factor);
  const k = add(mul(intVar(outer), factor), intVar(inner));
  const substituted = mapExpr(
    stage.body,
    (r) => r,
    (i) => substituteAxis(i, loop, k),
  );
  const identity = stage.combiner === "max" ? -Infinity : 0;
  const rfBody =
    axis.extent % factor === 0
      ? substituted
      : select(icmp(k, "<", axis.extent), substituted, identity);
  const rfStage: Stage = {
    name: rfName,
    axes: [{ name: outer, extent: parts }, ...stage.axes],
    reduceAxes: [{ name: inner, extent: factor }, ...stage.reduceAxes.filter((a) => a !== axis)],
    combiner: stage.combiner,
    body: rfBody,
  };
  const combined: Stage = {
    ...stage,
    reduceAxes: [{ name: outer, extent: parts }],
    body: {
      k: "read",
      tensor: rfName,
      idx: [intVar(outer), ...stage.axes.map((a) => intVar(a.name))],
    },
  };
  const stages = state.program.stages.flatMap((s) =>
    s.name === st.name ? [rfStage, combined] : [s],
  );
  const program: Program = { ...state.program, stages };
  const stageStates = state.stages.flatMap((s) =>
    s.name === st.name
      ? [initialStageState(program, rfName), initialStageState(program, st.name)]
      : [s],
  );
  return { program, stages: stageStates };
}

function substituteAxis(i: IntExpr, axis: string, value: IntExpr): IntExpr {
  return substitute(i, new Map([[axis, value]]));
}

function freshStageName(p: Program, base: string): string {
  const taken = new Set([...p.inputs.map((t) => t.name), ...p.stages.map((s) => s.name)]);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  return name;
}
