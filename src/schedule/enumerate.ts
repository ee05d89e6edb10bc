/**
 * Legal next transformations of a schedule, with parameters that make sense on a CPU:
 * split factors that fit vector widths, register tiles and cache levels (and divisors
 * of odd extents), loop swaps, vectorizing the innermost loop at the target's widths, every attachment point
 * for packs, local accumulation and compute_at, and preparing each weight. Search and
 * offline proposers draw from this list.
 */
import { prefetchDistance } from "./prefetch-distance.ts";
import { constantTensors, forEachRead, tensorShape, type Program } from "../ir/program.ts";
import { chainCandidates } from "./consumers.ts";
import { copyBuysNothing } from "./copy-reuse.ts";
import { resolveTarget } from "../target/detect.ts";
import type { Target } from "../target/target.ts";
import type { Schedule } from "./schedule.ts";
import { consumersOf, nominalExtents, type StageState } from "./state.ts";
import type { Transform } from "./transform.ts";

const SPLIT_FACTORS = [4, 8, 16, 32, 64, 128, 256];
const RFACTOR_FACTORS = [4, 16, 64];

export interface MoveOptions {
  /** Cores the program runs on: with one, parallel loops only cost and are not offered. */
  readonly threads?: number;
  /** Whose vector widths vectorize offers; default: this machine's (`native`). */
  readonly target?: Target;
}

export interface LegalMove {
  readonly transform: Transform;
  readonly schedule: Schedule;
}

/** Chunks per thread of a dynamically shared parallel loop: enough to even out, few enough to stay cheap. */
const DYNAMIC_CHUNKS_PER_THREAD = 32;

/** The chunk that shares `extent` iterations out as DYNAMIC_CHUNKS_PER_THREAD per thread, if any. */
export function dynamicChunk(extent: number, threads: number): number | undefined {
  const chunk = Math.floor(extent / (threads * DYNAMIC_CHUNKS_PER_THREAD));
  return chunk >= 1 ? chunk : undefined;
}

/** Candidate transformations before validation (cheap; may include illegal ones). */
export function candidateMoves(s: Schedule, opts: MoveOptions = {}): Transform[] {
  const threads = opts.threads ?? 2;
  const parallelUseful = threads > 1;
  const target = opts.target ?? resolveTarget();
  const vectorWidths = target.vectorWidths;
  const out: Transform[] = [];
  const program = s.state.program;
  const constants = constantTensors(program);
  for (const st of s.state.stages) {
    if (st.placement.k === "inline") continue;
    const stage = program.stages.find((x) => x.name === st.name)!;
    const extents = nominalExtents(program, st);
    const loops = st.loops;
    const fresh = freshNamer(st);
    // A constant stage at the root runs once in prepare: serially, with no workspace for copies.
    const inPrepare = constants.has(st.name) && st.placement.k === "root";
    // One level of parallelism: a stage with a parallel loop gets no second one.
    const hasParallel = loops.some((l) => l.annotation === "parallel");
    loops.forEach((l, pos) => {
      const extent = extents.get(l.name)!;
      if (parallelUseful && l.annotation === "parallel" && l.chunk === undefined) {
        // Equal parts handed out dynamically instead.
        const chunk = dynamicChunk(extent, threads);
        if (chunk !== undefined)
          out.push({ kind: "parallel", stage: st.name, loop: l.name, chunk });
      }
      if (l.annotation === "serial") {
        for (const f of splitFactors(extent)) {
          const [outer, inner] = [fresh(`${l.name}o`), fresh(`${l.name}i`)];
          out.push({ kind: "split", stage: st.name, loop: l.name, factor: f, outer, inner });
        }
        if (extent >= 2 && extent <= 32) out.push({ kind: "unroll", stage: st.name, loop: l.name });
        // Not the innermost loop while an outer one could be shared instead: a parallel loop
        // can no longer be split to vectorize, and the threads would fork once per outer row.
        const innermostBelowOuter =
          pos === loops.length - 1 && loops.slice(0, pos).some((o) => extents.get(o.name)! >= 2);
        if (
          parallelUseful &&
          !inPrepare &&
          !l.reduce &&
          pos <= 2 &&
          extent >= 2 &&
          !hasParallel &&
          !innermostBelowOuter
        ) {
          out.push({ kind: "parallel", stage: st.name, loop: l.name });
          // The same handed out dynamically, in chunks of about 1/32 of a thread's share.
          const chunk = dynamicChunk(extent, threads);
          if (chunk !== undefined)
            out.push({ kind: "parallel", stage: st.name, loop: l.name, chunk });
        }
        // A reduction loop vectorizes into a vector accumulator when cache_write allows it.
        if (pos === loops.length - 1 && vectorWidths.includes(extent)) {
          out.push({ kind: "vectorize", stage: st.name, loop: l.name });
        }
      }
      const next = loops[pos + 1];
      if (next) {
        out.push({ kind: "reorder", stage: st.name, loops: [next.name, l.name] });
        if (pos + 2 < loops.length) {
          // Move this loop innermost: the usual way to make an access contiguous.
          out.push({
            kind: "reorder",
            stage: st.name,
            loops: [...loops.slice(pos + 1).map((x) => x.name), l.name],
          });
        }
        if (next.reduce === l.reduce && l.annotation === "serial" && next.annotation === "serial") {
          out.push({
            kind: "fuse",
            stage: st.name,
            outer: l.name,
            inner: next.name,
            fused: fresh(`${l.name}${next.name}`),
          });
        }
      }
      if (stage.reduceAxes.length > 0 && !st.cacheWriteAt)
        out.push({ kind: "cache_write", stage: st.name, at: l.name });
      for (const tensor of inPrepare ? [] : readTensors(stage.body)) {
        if (st.copies.some((c) => c.tensor === tensor)) continue;
        if (copyBuysNothing(program, st, tensor, l.name)) continue;
        out.push({ kind: "pack", stage: st.name, tensor, at: l.name });
        out.push({ kind: "cache_read", stage: st.name, tensor, at: l.name });
      }
    });
    for (const weight of readTensors(stage.body).filter((t) => constants.has(t))) {
      if (!st.prepared.includes(weight) && !st.copies.some((c) => c.tensor === weight))
        out.push({ kind: "prepare", stage: st.name, tensor: weight });
    }
    // Producers read only by this stage, or by stages already computed at one of its loops,
    // may be computed inside that loop.
    for (const l of loops) {
      for (const producer of chainCandidates(s.state, st.name, l.name))
        out.push({ kind: "compute_at", stage: producer, consumer: st.name, at: l.name });
    }
    // Lowering refuses it unless a mask voids some of the stage's work.
    if (!st.skipMasked) out.push({ kind: "skip_masked", stage: st.name });
    out.push(...streamingMoves(s, st, target, opts.threads ?? 1));
    const isProducer =
      consumersOf(program, st.name).length > 0 && !program.outputs.includes(st.name);
    if (isProducer && stage.reduceAxes.length === 0)
      out.push({ kind: "compute_inline", stage: st.name });
    if (
      st.relations.length === 0 &&
      !st.cacheWriteAt &&
      st.copies.length === 0 &&
      st.prepared.length === 0
    ) {
      for (const axis of stage.reduceAxes) {
        for (const f of RFACTOR_FACTORS.filter((f) => f < axis.extent)) {
          out.push({
            kind: "rfactor",
            stage: st.name,
            loop: axis.name,
            factor: f,
            outer: `${axis.name}o`,
            inner: `${axis.name}i`,
          });
        }
      }
      // Lowering-free check: apply refuses a stage that is not a 3x3 convolution.
      if (stage.axes.length === 4 && stage.reduceAxes.length === 3)
        out.push({ kind: "winograd", stage: st.name });
    }
  }
  return out;
}

/** Every candidate that the schedule accepts, with the schedule it leads to. */
export function legalMoves(s: Schedule, opts: MoveOptions = {}): LegalMove[] {
  const moves: LegalMove[] = [];
  for (const t of candidateMoves(s, opts)) {
    const r = s.tryApply(t);
    if (r.ok) moves.push({ transform: t, schedule: r.schedule });
  }
  return moves;
}

/** True when `tensor` is larger than the private caches of `threads` cores of `target`. */
export function passesPrivateCaches(
  program: Program,
  tensor: string,
  target: Target,
  threads: number,
): boolean {
  return tensorShape(program, tensor).reduce((n, d) => n * d, 4) > target.caches.l2Bytes * threads;
}

/**
 * Streaming stores where the target has them (x86), for an output written from a vector
 * loop; prefetches of each input of an elementwise stage from the loop around its vector
 * loop: the next iteration of each loop enclosing it (the next row, while this one is
 * finished), or 8 ahead along it. Only for tensors larger than the private caches of the
 * cores used: a tensor that stays in them gains nothing from either, and the cost model
 * predicts such a child as fast as its parent, so it would take a trial of a round.
 */
function streamingMoves(s: Schedule, st: StageState, target: Target, threads: number): Transform[] {
  const program = s.state.program;
  const vectorAt = st.loops.findIndex((l) => l.annotation === "vector");
  if (vectorAt < 1 || st.placement.k !== "root") return [];
  const streams = (tensor: string) => passesPrivateCaches(program, tensor, target, threads);
  const out: Transform[] = [];
  if (
    !st.streamStores &&
    target.isa.arch === "x86_64" &&
    program.outputs.includes(st.name) &&
    streams(st.name)
  )
    out.push({ kind: "stream_store", stage: st.name });
  // Overlap the producers of the next row with this row's output (lowering refuses it
  // unless a producer loop has as many steps as the output's own).
  const rowLoop = st.loops[0];
  const producersAtRow = s.state.stages.some(
    (p) =>
      p.placement.k === "at" &&
      p.placement.consumer === st.name &&
      p.placement.loop === rowLoop.name,
  );
  if (!st.pipelined && producersAtRow && rowLoop.annotation === "serial" && !rowLoop.reduce)
    out.push({ kind: "pipeline", stage: st.name, loop: rowLoop.name });
  const stage = program.stages.find((x) => x.name === st.name)!;
  const at = st.loops[vectorAt - 1];
  // A reduction's loads stream in the order the hardware prefetcher follows, except a
  // weight panel reused from L1 by several row blocks: the skinny-GEMM recipe prefetches those.
  if (stage.reduceAxes.length > 0) return out;
  const inputs = readTensors(stage.body).filter(
    (t) => program.inputs.some((i) => i.name === t) && streams(t),
  );
  for (const tensor of inputs) {
    if ((st.prefetches ?? []).some((p) => p.tensor === tensor && p.at === at.name)) continue;
    st.loops.slice(0, vectorAt).forEach((ahead, position) => {
      const distance = ahead === at ? 8 : prefetchDistance(program, st, tensor, ahead.name);
      const move = { stage: st.name, tensor, at: at.name, ahead: ahead.name, distance };
      out.push({ kind: "prefetch", ...move });
      // Spread over the loops in between (a row block's columns) where there are any.
      if (position < vectorAt - 2) out.push({ kind: "prefetch", ...move, spread: true });
    });
  }
  return out;
}

function splitFactors(extent: number): number[] {
  const fs = new Set(SPLIT_FACTORS.filter((f) => f < extent));
  // Odd extents: also offer the largest divisors up to 64, so tails can be avoided.
  const divisors: number[] = [];
  for (let d = 2; d <= Math.min(64, extent - 1); d++) if (extent % d === 0) divisors.push(d);
  for (const d of divisors.slice(-2)) fs.add(d);
  return [...fs].sort((a, b) => a - b);
}

function readTensors(body: Parameters<typeof forEachRead>[0]): string[] {
  const names = new Set<string>();
  forEachRead(body, (r) => names.add(r.tensor));
  return [...names];
}

function freshNamer(st: StageState): (base: string) => string {
  return (base) => {
    let name = base;
    for (let n = 2; st.usedNames.has(name); n++) name = `${base}${n}`;
    return name;
  };
}
