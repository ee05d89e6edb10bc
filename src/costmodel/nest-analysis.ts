/**
 * One pass over a lowered loop nest that the analytic estimate and the learned model's
 * features share. It never materialises unrolled copies or iterations: trip counts are
 * averaged analytically (guarded tails by a small enumeration of the enclosing loops),
 * so the cost is linear in the size of the nest.
 *
 * What it derives:
 *  - per store statement: how often it runs, whether it runs in vector lanes (explicit,
 *    or by the C compiler's auto-vectorizer), unrolled copies, register accumulation,
 *    reduction chains, and the innermost-loop stride of every read;
 *  - a cycle estimate: a port model (FP ops, loads, stores, issue width, accumulator
 *    latency) per iteration of each innermost run-time loop, summed over the nest;
 *  - per loop, the bytes one iteration and one whole execution touch (cache lines), from
 *    which the traffic missing L1 and L2 follows.
 *
 * The machine (vector width, ports, caches) comes from the target (machine-model.ts);
 * the parts live beside this file: the port model (ports.ts), trip averaging
 * (trip-average.ts), access strides and lines (access-strides.ts), footprints
 * (footprints.ts) and expression costs (expr-cost.ts).
 *
 * The C compiler (-O3) is part of the machine: it completely unrolls small constant
 * loops, vectorizes innermost loops whose accesses are contiguous, and vectorizes an
 * outer loop around an inner reduction (GCC's outer-loop vectorization). Inside OpenMP
 * regions pointers lose `restrict`, which the estimate takes to rule out the latter.
 */
import { freeVars, type IntExpr, type Interval } from "../ir/int-expr.ts";
import type { BufferDecl, LoweredProgram, Stmt } from "../ir/loop-nest.ts";
import { strideAlong } from "../ir/strides.ts";
import { accessBytes, classOf, divModCount, innerSpan } from "./access-strides.ts";
import {
  accessKey,
  exprCost,
  exprSize,
  forEachReadExpr,
  hasCall,
  isReductionOf,
  reductionOp,
} from "./expr-cost.ts";
import { newFoot, setMax, sumMap, traffic, type FootNode } from "./footprints.ts";
import {
  AUTOVEC_MIN_TRIP,
  CUNROLL_MAX_SIZE,
  CUNROLL_MAX_TRIP,
  LOOP_ENTRY_CYCLES,
  PARALLEL_ENTRY_CYCLES,
  widthFactor,
  type MachineModel,
} from "./machine-model.ts";
import { Ports } from "./ports.ts";
import { averageTrip, condFraction, type LoopFrame } from "./trip-average.ts";

type ForStmt = Extract<Stmt, { k: "for" }>;
type StoreStmt = Extract<Stmt, { k: "store" }>;

export type AccessClass = "contiguous" | "invariant" | "strided" | "register";

export interface ReadInfo {
  readonly buffer: string;
  readonly cls: AccessClass;
  /** Elements between consecutive iterations of the innermost loop (0 when invariant). */
  readonly stride: number;
}

export interface StoreInfo {
  readonly buffer: BufferDecl;
  /** Executions of the statement per kernel call, one per element (vector lanes count). */
  readonly iters: number;
  /** Lanes of the explicit vector loop it runs in, else 0. */
  readonly lanes: number;
  /** Runs in a loop the C compiler is expected to vectorize. */
  readonly autoVector: boolean;
  /** Unrolled copies (explicit or by the compiler) within its innermost run-time loop. */
  readonly copies: number;
  /** Accumulates into its own target (a reduction update). */
  readonly reduction: boolean;
  /** A reduction whose target is invariant in the innermost run-time loop: a latency chain. */
  readonly chain: boolean;
  /** Independent accumulators of the chain (unrolled copies and lanes). */
  readonly chains: number;
  readonly parallel: boolean;
  /** Under a guard: a non-constant trip count or an `if`. */
  readonly tail: boolean;
  readonly transcendental: boolean;
  /** FP operations of one execution (the program's flop measure). */
  readonly flops: number;
  /** Average trip count of the innermost run-time loop (1 when there is none). */
  readonly innerTrip: number;
  /** Loads issued per element (after hoisting and unrolled-copy CSE). */
  readonly loadsPerElement: number;
  readonly reads: readonly ReadInfo[];
  /** Bytes of the outermost enclosing loop whose whole execution fits L1 / L2 (0: none). */
  fitL1: number;
  fitL2: number;
}

export interface NestAnalysis {
  readonly stores: readonly StoreInfo[];
  /** Cycles of one kernel call on `threads` cores, from the port model. */
  readonly cycles: number;
  /** Cycles spent entering parallel regions. */
  readonly parallelOverheadCycles: number;
  /** Cycles of the parallel loops whose iterations are split into equal parts up front. */
  readonly staticParallelCycles: number;
  /** Bytes missing L1 (served by L2) and missing L2 (served by L3 / memory). */
  readonly trafficL1: number;
  readonly trafficL2: number;
  /** Bytes touched by the whole kernel, in cache lines. */
  readonly footprint: number;
  readonly loops: number;
  readonly runtimeLoops: number;
  /** Small constant loops the C compiler unrolls completely. */
  readonly compilerUnrolled: number;
  /** Loops the C compiler vectorizes (innermost, or outer around a reduction). */
  readonly compilerVectorized: number;
  readonly maxDepth: number;
  /** `if` statements plus loops whose trip count is guarded. */
  readonly guards: number;
  readonly parallelLoops: number;
  /** Largest trip count of a parallel loop (0 when none). */
  readonly parallelExtent: number;
  /** Times parallel regions are entered per kernel call. */
  readonly parallelEntries: number;
  /** Instructions issued per kernel call (estimate). */
  readonly instructions: number;
  readonly loopOverheadInstructions: number;
}

interface VectorCtx {
  readonly v: string;
  readonly lanes: number;
  /** Vectorized by the C compiler rather than by the schedule. */
  readonly auto: boolean;
  /** An outer loop vectorized around an inner loop: survives entering run-time loops. */
  readonly outer: boolean;
}

/** The run-time loop around the innermost one, and the loops unrolled between them. */
interface EnclosingLoop {
  readonly v: string;
  readonly ports: Ports;
  readonly unrolls: readonly LoopFrame[];
}

interface Ctx {
  readonly path: readonly LoopFrame[];
  /** Executions of this point per kernel call. */
  readonly mult: number;
  readonly tail: boolean;
  readonly parallel: boolean;
  readonly ports: Ports;
  /** The innermost run-time loop variable, if any. */
  readonly runtimeVar: string | undefined;
  readonly runtimeTrip: number;
  readonly enclosing: EnclosingLoop | undefined;
  /** Unrolled loops since the innermost run-time loop. */
  readonly unrolls: readonly LoopFrame[];
  readonly copies: number;
  readonly vec: VectorCtx | undefined;
  /** Multiplier on port usage (vector/scalar paths of a guarded vector loop). */
  readonly weight: number;
  /** Records stores and footprints only on the first of several visits of a body. */
  readonly record: boolean;
  readonly foot: FootNode;
  /** footPath[0] is the root; footPath[i] the loop path[i - 1]. */
  readonly footPath: readonly FootNode[];
  /** Fraction of executions passing the `if` guards since `foot`. */
  readonly frac: number;
}

const cache = new WeakMap<LoweredProgram, Map<string, NestAnalysis>>();

/** Analyses a lowered nest for `threads` cores of `machine` (cached per nest object). */
export function analyzeNest(lp: LoweredProgram, machine: MachineModel, threads = 1): NestAnalysis {
  let byKey = cache.get(lp);
  if (!byKey) {
    byKey = new Map();
    cache.set(lp, byKey);
  }
  const key = `${threads}/${machine.target}/${machine.l2Bytes}`;
  let a = byKey.get(key);
  if (!a) {
    a = new Analyzer(lp, Math.max(1, Math.floor(threads)), machine).run();
    byKey.set(key, a);
  }
  return a;
}

/** How the generated code (after the C compiler) executes a loop. */
type LoopMode = "unroll" | "vector" | "runtime";

class Analyzer {
  private readonly buffers: Map<string, BufferDecl>;
  private readonly modes = new Map<ForStmt, LoopMode>();
  private readonly stores: StoreInfo[] = [];
  private loops = 0;
  private runtimeLoops = 0;
  private compilerUnrolled = 0;
  private compilerVectorized = 0;
  private maxDepth = 0;
  private guards = 0;
  private parallelLoops = 0;
  private parallelExtent = 0;
  private parallelEntries = 0;
  private parallelOverhead = 0;
  private staticParallelCycles = 0;
  private instructions = 0;
  private loopOverhead = 0;

  constructor(
    private readonly lp: LoweredProgram,
    private readonly threads: number,
    private readonly machine: MachineModel,
  ) {
    this.buffers = new Map(lp.buffers.map((b) => [b.name, b]));
    this.classify(lp.body);
  }

  run(): NestAnalysis {
    const root = newFoot(1, 1);
    const ports = new Ports(this.machine);
    this.visit(this.lp.body, {
      path: [],
      mult: 1,
      tail: false,
      parallel: false,
      ports,
      runtimeVar: undefined,
      runtimeTrip: 1,
      enclosing: undefined,
      unrolls: [],
      copies: 1,
      vec: undefined,
      weight: 1,
      record: true,
      foot: root,
      footPath: [root],
      frac: 1,
    });
    this.instructions += ports.instr;
    const cycles = ports.cycles(ports.instr);
    const footprint = sumMap(root.whole);
    this.assignFits(root, 0);
    return {
      stores: this.stores,
      cycles,
      parallelOverheadCycles: this.parallelOverhead,
      staticParallelCycles: this.staticParallelCycles,
      trafficL1: traffic(root, this.machine.l1Bytes, this.machine.lineBytes),
      trafficL2: traffic(root, this.machine.l2Bytes, this.machine.lineBytes),
      footprint,
      loops: this.loops,
      runtimeLoops: this.runtimeLoops,
      compilerUnrolled: this.compilerUnrolled,
      compilerVectorized: this.compilerVectorized,
      maxDepth: this.maxDepth,
      guards: this.guards,
      parallelLoops: this.parallelLoops,
      parallelExtent: this.parallelExtent,
      parallelEntries: this.parallelEntries,
      instructions: this.instructions,
      loopOverheadInstructions: this.loopOverhead,
    };
  }

  /**
   * Decides bottom-up which loops stay loops at run time. Returns the instruction size of
   * the statements once unrolled, or Infinity when they contain a run-time loop.
   */
  private classify(stmts: readonly Stmt[]): number {
    let size = 0;
    for (const s of stmts) {
      if (s.k === "store") size += 2 + exprSize(s.value);
      else if (s.k === "if") size += 2 + this.classify(s.body);
      else if (s.k === "for") {
        const body = this.classify(s.body);
        const c = s.count.k === "const" ? Math.min(s.count.v, s.extent) : undefined;
        let mode: LoopMode;
        if (s.kind === "unroll") mode = "unroll";
        else if (s.kind === "vector") mode = c !== undefined && c < s.extent ? "runtime" : "vector";
        else if (s.kind === "parallel" || c === undefined) mode = "runtime";
        else if (c <= 1 || (c <= CUNROLL_MAX_TRIP && c * body <= CUNROLL_MAX_SIZE)) mode = "unroll";
        else mode = "runtime";
        this.modes.set(s, mode);
        if (mode === "runtime") size = Infinity;
        else if (mode === "vector") size += body;
        else size += (c ?? s.extent) * body;
      }
    }
    return size;
  }

  /** The outermost loop whose whole execution fits each cache, per store. */
  private assignFits(node: FootNode, depth: number): void {
    const whole = sumMap(node.whole);
    for (const s of node.storesBelow) {
      if (s.fitL1 === 0 && whole <= this.machine.l1Bytes && depth > 0) s.fitL1 = whole;
      if (s.fitL2 === 0 && whole <= this.machine.l2Bytes && depth > 0) s.fitL2 = whole;
    }
    for (const c of node.children) this.assignFits(c, depth + 1);
  }

  private buffer(name: string): BufferDecl {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`cost model: unknown buffer '${name}'`);
    return b;
  }

  private visit(stmts: readonly Stmt[], ctx: Ctx): void {
    for (const s of stmts) {
      switch (s.k) {
        case "for":
          this.loop(s, ctx);
          break;
        case "if": {
          if (ctx.record) this.guards++;
          const frac = condFraction(s.cond, ctx.path);
          ctx.ports.instr += 2 * ctx.copies * ctx.weight;
          this.visit(s.body, {
            ...ctx,
            mult: ctx.mult * frac,
            tail: true,
            weight: ctx.weight * frac,
            frac: ctx.frac * frac,
          });
          break;
        }
        case "store":
          this.store(s, ctx);
          break;
        default:
          break;
      }
    }
  }

  private loop(s: ForStmt, ctx: Ctx): void {
    const { avg, full, constant } = averageTrip(s, ctx.path);
    const mode = this.modes.get(s) ?? "runtime";
    const path = [...ctx.path, { v: s.v, extent: s.extent }];
    if (ctx.record) {
      this.loops++;
      this.maxDepth = Math.max(this.maxDepth, path.length);
      if (!constant) this.guards++;
      if (mode === "unroll" && s.kind === "serial") this.compilerUnrolled++;
    }
    const foot = newFoot(avg, ctx.frac);
    if (ctx.record) ctx.foot.children.push(foot);
    const base: Ctx = {
      ...ctx,
      path,
      mult: ctx.mult * avg,
      tail: ctx.tail || !constant,
      foot,
      footPath: [...ctx.footPath, foot],
      frac: 1,
    };

    if (mode === "unroll") {
      if (!constant) ctx.ports.instr += 2 * ctx.copies * ctx.weight;
      this.visit(s.body, {
        ...base,
        unrolls: [...ctx.unrolls, { v: s.v, extent: avg }],
        copies: ctx.copies * avg,
      });
      return;
    }
    if (mode === "vector" && full > 0) {
      // Full vectors (all of them when the count is constant), scalar tails otherwise.
      this.visit(s.body, {
        ...base,
        vec: { v: s.v, lanes: s.extent, auto: false, outer: false },
        weight: ctx.weight * full,
      });
      if (full < 1) {
        ctx.ports.instr += ctx.copies * ctx.weight;
        const tailTrip = Math.max(0, (avg - full * s.extent) / (1 - full));
        const tail = { ...base, mult: ctx.mult * (1 - full) * tailTrip, record: false };
        const loop = this.runtimeLoop(s, tailTrip, tail, false);
        ctx.ports.nested += loop.cycles * ctx.copies * ctx.weight * (1 - full);
        ctx.ports.nestedInstr += loop.instr * ctx.copies * ctx.weight * (1 - full);
      }
      return;
    }
    const loop = this.runtimeLoop(s, avg, base, s.kind === "parallel");
    ctx.ports.nested += loop.cycles * ctx.copies * ctx.weight;
    ctx.ports.nestedInstr += loop.instr * ctx.copies * ctx.weight;
  }

  /** Cycles and instructions (nested loops included) of one execution of a run-time loop with `trip` iterations. */
  private runtimeLoop(
    s: ForStmt,
    trip: number,
    base: Ctx,
    parallel: boolean,
  ): { cycles: number; instr: number } {
    const entries = base.mult / Math.max(trip, 1e-9);
    if (base.record) {
      this.runtimeLoops++;
      if (parallel) {
        this.parallelLoops++;
        this.parallelExtent = Math.max(this.parallelExtent, trip);
        this.parallelEntries += entries;
      }
    }
    const inParallel = base.parallel || parallel;
    const inner: Ctx = {
      ...base,
      parallel: inParallel,
      runtimeVar: s.v,
      runtimeTrip: trip,
      enclosing:
        base.runtimeVar === undefined
          ? undefined
          : { v: base.runtimeVar, ports: base.ports, unrolls: base.unrolls },
      unrolls: [],
      copies: 1,
      vec: base.vec?.outer ? base.vec : undefined,
      weight: 1,
    };
    const run = (ctx: Ctx) => {
      const ports = new Ports(this.machine);
      this.visit(s.body, { ...ctx, ports });
      ports.instr += 2;
      return ports;
    };
    let cycles: number;
    let instr: number;
    const vectorize =
      inner.vec || trip < AUTOVEC_MIN_TRIP
        ? undefined
        : this.innerVectorizable(s)
          ? "inner"
          : this.outerVectorizable(s, inParallel)
            ? "outer"
            : undefined;
    if (vectorize) {
      // The compiler's vector body (one register, fewer lanes for short loops), a scalar remainder.
      if (base.record) this.compilerVectorized++;
      const lanes = Math.min(this.machine.lanes, 2 ** Math.floor(Math.log2(trip)));
      const vec = run({
        ...inner,
        vec: { v: s.v, lanes, auto: true, outer: vectorize === "outer" },
      });
      const scalar = run({ ...inner, record: false });
      const vectorIters = Math.floor(trip / lanes);
      const rest = trip - vectorIters * lanes;
      const perExecution = vectorIters * vec.instr + rest * scalar.instr;
      instr = perExecution + vectorIters * vec.nestedInstr + rest * scalar.nestedInstr;
      cycles = vectorIters * vec.cycles(instr) + rest * scalar.cycles(instr);
      this.instructions += entries * perExecution;
      this.loopOverhead += entries * 2 * (vectorIters + rest);
    } else {
      const ports = run(inner);
      instr = trip * (ports.instr + ports.nestedInstr);
      cycles = trip * ports.cycles(instr);
      this.instructions += entries * trip * ports.instr;
      this.loopOverhead += entries * trip * 2;
    }
    cycles += LOOP_ENTRY_CYCLES;
    if (parallel) {
      const t = Math.min(this.threads, Math.max(1, Math.round(trip)));
      const share = Math.ceil(Math.max(1, trip) / t) / Math.max(1, trip);
      cycles = cycles * share + PARALLEL_ENTRY_CYCLES;
      if (base.record) this.parallelOverhead += PARALLEL_ENTRY_CYCLES * entries;
      if (base.record && s.chunk === undefined) this.staticParallelCycles += cycles * entries;
    }
    return { cycles, instr };
  }

  /**
   * The statements of a loop body with the loops that vanish (unrolled, vector) looked
   * through; undefined when it contains a run-time loop.
   */
  private flatStores(stmts: readonly Stmt[], out: StoreStmt[] = []): StoreStmt[] | undefined {
    for (const s of stmts) {
      if (s.k === "store") out.push(s);
      else if (s.k === "if") {
        if (!this.flatStores(s.body, out)) return undefined;
      } else if (s.k === "for") {
        if (this.modes.get(s) === "runtime" || s.kind === "vector") return undefined;
        if (!this.flatStores(s.body, out)) return undefined;
      }
    }
    return out;
  }

  /** Contiguous (stride 1) or invariant along `v`, for a read; contiguous for a store. */
  private vectorFriendly(s: StoreStmt, v: string): boolean {
    const b = this.buffer(s.buf);
    if (b.registers || strideAlong(s.idx, b.shape, v) !== 1) return false;
    if (hasCall(s.value)) return false;
    let ok = true;
    forEachReadExpr(s.value, (r) => {
      const rb = this.buffer(r.tensor);
      const stride = strideAlong(r.idx, rb.shape, v);
      if (rb.registers || (stride !== 0 && stride !== 1)) ok = false;
    });
    return ok;
  }

  /**
   * Whether GCC at -O3 vectorizes this innermost loop itself: plain stores (through
   * unrolled copies), every access contiguous or invariant along it, no reduction into an
   * invariant target, no calls (exp...).
   */
  private innerVectorizable(s: ForStmt): boolean {
    if (s.kind === "vector") return false;
    const stores = this.flatStores(s.body);
    return (
      stores !== undefined &&
      stores.length > 0 &&
      stores.every((st) => this.vectorFriendly(st, s.v))
    );
  }

  /**
   * GCC's outer-loop vectorization: a loop whose body is stores plus one inner run-time
   * loop, everything contiguous or invariant along the outer loop. Inside an OpenMP
   * region shared pointers lose `restrict`, so only stores into local buffers qualify.
   */
  private outerVectorizable(s: ForStmt, inParallel: boolean): boolean {
    if (s.kind !== "serial") return false;
    const own: StoreStmt[] = [];
    let inner: ForStmt | undefined;
    for (const st of s.body) {
      if (st.k === "store") own.push(st);
      else if (st.k === "for" && this.modes.get(st) === "runtime" && !inner && st.kind === "serial")
        inner = st;
      else if (st.k === "for" || st.k === "if") return false;
    }
    if (!inner || inner.count.k !== "const") return false;
    const body = this.flatStores(inner.body);
    if (!body || body.length === 0) return false;
    const all = [...own, ...body];
    if (inParallel && all.some((st) => this.buffer(st.buf).role !== "local")) return false;
    return all.every((st) => this.vectorFriendly(st, s.v));
  }

  private store(s: StoreStmt, ctx: Ctx): void {
    const target = this.buffer(s.buf);
    const rv = ctx.runtimeVar;
    const targetKey = accessKey(s.buf, s.idx);
    const reduction = isReductionOf(s.value, targetKey);
    const targetInvariant = rv !== undefined && s.idx.every((x) => !freeVars(x).has(rv));
    const chain = reduction && targetInvariant;
    // GCC's SLP vectorizer packs unrolled copies that are contiguous along the innermost
    // unrolled loop (not inside OpenMP regions, where `restrict` is lost).
    let vec = ctx.vec;
    let slp: LoopFrame | undefined;
    if (!vec && !ctx.parallel && !chain && ctx.unrolls.length > 0) {
      const u = ctx.unrolls[ctx.unrolls.length - 1];
      if (u.extent >= 4 && this.vectorFriendly(s, u.v)) {
        slp = u;
        const lanes = Math.min(this.machine.lanes, 2 ** Math.floor(Math.log2(u.extent)));
        vec = { v: u.v, lanes, auto: true, outer: false };
      }
    }
    const slpLanes = slp && vec ? vec.lanes : 1;
    const lanesFactor = vec ? widthFactor(vec.lanes, this.machine) : 1;
    const cost = exprCost(s.value, vec?.v, vec?.lanes ?? 1, rv, this.machine);
    const dependsOnVec = (idx: readonly IntExpr[]) =>
      vec !== undefined && idx.some((x) => freeVars(x).has(vec.v));
    const copiesOf = (idx: readonly IntExpr[]) => {
      let n = 1;
      for (const u of ctx.unrolls) if (idx.some((x) => freeVars(x).has(u.v))) n *= u.extent;
      return slp && dependsOnVec(idx) ? n / slpLanes : n;
    };

    let loads = 0;
    let indexOps = 0;
    const reads: ReadInfo[] = [];
    forEachReadExpr(s.value, (r) => {
      const b = this.buffer(r.tensor);
      indexOps += r.idx.reduce((n, x) => n + divModCount(x), 0);
      if (b.registers) {
        reads.push({ buffer: r.tensor, cls: "register", stride: 0 });
        return;
      }
      const stride = rv === undefined ? 0 : strideAlong(r.idx, b.shape, rv);
      const span = innerSpan(r.idx, b.shape, ctx.unrolls, vec);
      reads.push({ buffer: r.tensor, cls: classOf(stride, span), stride: stride ?? Infinity });
      // A carried accumulator stays in a register (the compiler promotes it).
      if (chain && accessKey(r.tensor, r.idx) === targetKey) return;
      // Reads invariant in the innermost run-time loop are hoisted out of it.
      if (rv !== undefined && r.idx.every((x) => !freeVars(x).has(rv))) return;
      loads += copiesOf(r.idx) * (dependsOnVec(r.idx) ? lanesFactor : 1);
    });
    let stores = 0;
    if (!target.registers && !chain) stores = copiesOf(s.idx) * (vec ? lanesFactor : 1);
    indexOps += s.idx.reduce((n, x) => n + divModCount(x), 0);

    const w = ctx.weight;
    const arith = (ctx.copies / slpLanes) * cost.slots;
    ctx.ports.arith += w * arith;
    ctx.ports.loads += w * loads;
    ctx.ports.stores += w * stores;
    ctx.ports.instr +=
      w * (arith + loads + stores + (indexOps + cost.intOps) * (ctx.copies / slpLanes));
    if (reduction) {
      // Copies that update the same element form one chain, one step after another.
      const latency =
        reductionOp(s.value) === "max"
          ? this.machine.chainLatency.max
          : this.machine.chainLatency.add;
      const length = (latency * ctx.copies) / slpLanes / copiesOf(s.idx);
      if (chain) ctx.ports.carried = Math.max(ctx.ports.carried, length);
      else {
        ctx.ports.local = Math.max(ctx.ports.local, length);
        this.carryThroughEnclosing(s, ctx, length);
      }
    }

    if (!ctx.record) return;
    const perElement = vec && !slp ? vec.lanes : 1;
    const info: StoreInfo = {
      buffer: target,
      iters: ctx.mult,
      lanes: vec && !vec.auto ? vec.lanes : 0,
      autoVector: (vec?.auto ?? false) || slp !== undefined,
      copies: ctx.copies,
      reduction,
      chain,
      chains: chain ? copiesOf(s.idx) * (vec ? vec.lanes : 1) : 0,
      parallel: ctx.parallel,
      tail: ctx.tail,
      transcendental: cost.transcendental,
      flops: cost.flops,
      innerTrip: rv === undefined ? 1 : ctx.runtimeTrip,
      loadsPerElement: loads / (ctx.copies * perElement),
      reads,
      fitL1: 0,
      fitL2: 0,
    };
    this.stores.push(info);
    for (const f of ctx.footPath) f.storesBelow.push(info);
    this.recordFootprints(s, ctx);
  }

  /**
   * A reduction whose target does not depend on the enclosing run-time loop accumulates
   * into the same elements on each of its iterations (e.g. `conv[x] += ...` in an x loop
   * inside a channel loop): each execution of the inner loop waits for the previous one's
   * chains, unrolled copies in between adding their steps to the wait.
   */
  private carryThroughEnclosing(s: StoreStmt, ctx: Ctx, chainLength: number): void {
    const outer = ctx.enclosing;
    if (!outer) return;
    const uses = (v: string) => s.idx.some((x) => freeVars(x).has(v));
    if (uses(outer.v)) return;
    let shared = 1;
    for (const u of outer.unrolls) if (!uses(u.v)) shared *= u.extent;
    outer.ports.nestedCarried = Math.max(outer.ports.nestedCarried, chainLength * shared);
  }

  /** Adds the bytes each access of `s` touches at every enclosing loop level. */
  private recordFootprints(s: StoreStmt, ctx: Ctx): void {
    const accesses: { buf: BufferDecl; idx: readonly IntExpr[] }[] = [];
    const add = (name: string, idx: readonly IntExpr[]) => {
      const b = this.buffer(name);
      if (!b.registers) accesses.push({ buf: b, idx });
    };
    add(s.buf, s.idx);
    forEachReadExpr(s.value, (r) => add(r.tensor, r.idx));
    ctx.foot.directAccesses += accesses.length;
    if (accesses.length === 0) return;
    const depth = ctx.path.length;
    for (let t = 0; t <= depth; t++) {
      const ranges = new Map<string, Interval>();
      ctx.path.forEach((f, j) => ranges.set(f.v, { lo: 0, hi: j >= t ? f.extent - 1 : 0 }));
      // With the loops at depth >= t varying: footPath[t + 1] (loop path[t]) runs whole,
      // footPath[t] (loop path[t - 1], or the root) runs one iteration.
      for (const a of accesses) {
        const bytes = accessBytes(a.idx, a.buf.shape, ranges, this.machine.lineBytes);
        if (t + 1 < ctx.footPath.length) setMax(ctx.footPath[t + 1].whole, a.buf.name, bytes);
        setMax(ctx.footPath[t].iter, a.buf.name, bytes);
        if (t === 0) setMax(ctx.footPath[0].whole, a.buf.name, bytes);
      }
    }
  }
}
