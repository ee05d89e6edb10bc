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
 * The C compiler (-O3) is part of the machine: it completely unrolls small constant
 * loops, vectorizes innermost loops whose accesses are contiguous, and vectorizes an
 * outer loop around an inner reduction (GCC's outer-loop vectorization). Inside OpenMP
 * regions pointers lose `restrict`, which the estimate takes to rule out the latter.
 */
import {
  coefficientOf,
  evalInt,
  freeVars,
  intervalOf,
  printInt,
  toLinear,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import type { BufferDecl, LoweredProgram, Stmt } from "../ir/loop-nest.ts";
import { forEachRead, type BinaryOp, type Cond, type Expr, type UnaryOp } from "../ir/program.ts";

export const L1_BYTES = 48 * 1024;
/** Default private L2 per core, when the machine profile does not say. */
export const L2_BYTES = 2 * 1024 * 1024;
export const LINE_BYTES = 64;
/** FP32 lanes of one hardware vector (512-bit); the profile's peak assumes them. */
export const HW_LANES = 16;
/** FP vector ports: peak = ports * lanes * 2 (FMA) * frequency. */
export const FP_PORTS = 2;

/** Latency (cycles) of one step of an accumulation chain, by combiner. */
const CHAIN_LATENCY = { add: 4, max: 5 } as const;
/** Instructions the core issues per cycle. */
const ISSUE_WIDTH = 5;
/** Instructions in flight that can overlap independent dependency chains. */
const WINDOW = 200;
/**
 * Independent chains worth overlapping: enough to keep every FP port busy through an add's
 * latency; beyond that the port throughput bounds the loop.
 */
const MAX_CHAINS_IN_FLIGHT = FP_PORTS * CHAIN_LATENCY.add;
/** Cycles of entering and leaving a run-time loop (setup, exit misprediction). */
const LOOP_ENTRY_CYCLES = 4;
/** Cycles of entering an OpenMP parallel region (team start and barrier). */
export const PARALLEL_ENTRY_CYCLES = 1500;
/** Largest enumeration used to average a guarded trip count or an `if` condition. */
const MAX_ENUMERATION = 2048;
/** Below this trip count the C compiler's auto-vectorizer is assumed not to bother. */
const AUTOVEC_MIN_TRIP = 4;
/**
 * Cost of one operation on a vector wider than the hardware's, per hardware-width part:
 * GCC lowers such generic vectors poorly (measured 10-20x slower than 16 lanes).
 */
const WIDE_VECTOR_PENALTY = 10;
/** GCC's complete unrolling limits: iterations, and instructions after unrolling. */
const CUNROLL_MAX_TRIP = 16;
const CUNROLL_MAX_SIZE = 200;

type ForStmt = Extract<Stmt, { k: "for" }>;
type StoreStmt = Extract<Stmt, { k: "store" }>;
type ReadExpr = Extract<Expr, { k: "read" }>;

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

interface LoopFrame {
  readonly v: string;
  readonly extent: number;
}

/** Port usage of one iteration of a run-time loop (or of the top level, run once). */
class Ports {
  arith = 0;
  loads = 0;
  stores = 0;
  instr = 0;
  /** Latency of the accumulation chain carried from one iteration to the next. */
  carried = 0;
  /** Latency of accumulation chains within one iteration (independent across iterations). */
  local = 0;
  /** Cycles of nested run-time loops per iteration. */
  nested = 0;
  /** Instructions of nested run-time loops per iteration. */
  nestedInstr = 0;
  /**
   * Latency of a chain carried from one iteration to the next through a nested run-time
   * loop: its reduction target does not depend on this loop, so each execution of the
   * nested loop waits for the previous one's accumulators.
   */
  nestedCarried = 0;

  /**
   * Cycles of one iteration. Independent chains overlap in the out-of-order window:
   * chains within an iteration with the following iterations, a carried chain with the
   * next execution of the loop (`instrPerExecution` instructions later).
   */
  cycles(instrPerExecution: number): number {
    const overlap = (instr: number) =>
      1 + Math.min(MAX_CHAINS_IN_FLIGHT - 1, WINDOW / Math.max(instr, 1));
    const chain = Math.max(
      this.carried / overlap(instrPerExecution),
      this.local / overlap(this.instr),
    );
    const throughput = Math.max(
      this.arith / FP_PORTS,
      this.loads / 2,
      this.stores,
      this.instr / ISSUE_WIDTH,
    );
    return Math.max(
      Math.max(throughput, chain) + this.nested,
      this.nestedCarried / overlap(instrPerExecution),
    );
  }
}

/** A node of the footprint tree: a loop (or the root), its children and its accesses. */
interface FootNode {
  readonly trip: number;
  /** Fraction of entries that execute (guards). */
  readonly frac: number;
  readonly children: FootNode[];
  /** Per buffer: bytes of one iteration, bytes of the whole execution. */
  readonly iter: Map<string, number>;
  readonly whole: Map<string, number>;
  /** Accesses of stores directly in this loop (not in a child loop), one line each. */
  directAccesses: number;
  /** Stores below this loop, for the fit features. */
  readonly storesBelow: StoreInfo[];
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

/**
 * Analyses a lowered nest for `threads` cores and a private last-level cache of `l2Bytes`
 * per core (cached per nest object).
 */
export function analyzeNest(lp: LoweredProgram, threads = 1, l2Bytes = L2_BYTES): NestAnalysis {
  let byKey = cache.get(lp);
  if (!byKey) {
    byKey = new Map();
    cache.set(lp, byKey);
  }
  const key = `${threads}/${l2Bytes}`;
  let a = byKey.get(key);
  if (!a) {
    a = new Analyzer(lp, Math.max(1, Math.floor(threads)), l2Bytes).run();
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
  private instructions = 0;
  private loopOverhead = 0;

  constructor(
    private readonly lp: LoweredProgram,
    private readonly threads: number,
    private readonly l2Bytes: number,
  ) {
    this.buffers = new Map(lp.buffers.map((b) => [b.name, b]));
    this.classify(lp.body);
  }

  run(): NestAnalysis {
    const root = newFoot(1, 1);
    const ports = new Ports();
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
      trafficL1: traffic(root, L1_BYTES),
      trafficL2: traffic(root, this.l2Bytes),
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
      if (s.fitL1 === 0 && whole <= L1_BYTES && depth > 0) s.fitL1 = whole;
      if (s.fitL2 === 0 && whole <= this.l2Bytes && depth > 0) s.fitL2 = whole;
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
      const ports = new Ports();
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
      // The compiler's vector body (16 lanes, fewer for short loops), a scalar remainder.
      if (base.record) this.compilerVectorized++;
      const lanes = Math.min(HW_LANES, 2 ** Math.floor(Math.log2(trip)));
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
        const lanes = Math.min(HW_LANES, 2 ** Math.floor(Math.log2(u.extent)));
        vec = { v: u.v, lanes, auto: true, outer: false };
      }
    }
    const slpLanes = slp && vec ? vec.lanes : 1;
    const lanesFactor = vec ? widthFactor(vec.lanes) : 1;
    const cost = exprCost(s.value, vec?.v, vec?.lanes ?? 1, rv);
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
      const latency = reductionOp(s.value) === "max" ? CHAIN_LATENCY.max : CHAIN_LATENCY.add;
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
        const bytes = accessBytes(a.idx, a.buf.shape, ranges);
        if (t + 1 < ctx.footPath.length) setMax(ctx.footPath[t + 1].whole, a.buf.name, bytes);
        setMax(ctx.footPath[t].iter, a.buf.name, bytes);
        if (t === 0) setMax(ctx.footPath[0].whole, a.buf.name, bytes);
      }
    }
  }
}

/** Hardware vector instructions per operation on `lanes` lanes (see WIDE_VECTOR_PENALTY). */
function widthFactor(lanes: number): number {
  return lanes <= HW_LANES ? 1 : (lanes / HW_LANES) * WIDE_VECTOR_PENALTY;
}

/** Instruction size of an expression (operations and loads), for the unrolling limit. */
function exprSize(e: Expr): number {
  switch (e.k) {
    case "const":
      return 0;
    case "read":
      return 1;
    case "bin":
      return 1 + exprSize(e.a) + exprSize(e.b);
    case "un":
      return (CALLS.has(e.op) ? 10 : 1) + exprSize(e.a);
    case "select":
      return 3 + exprSize(e.a) + exprSize(e.b);
  }
}

function newFoot(trip: number, frac: number): FootNode {
  const f: FootNode = {
    trip,
    frac,
    children: [],
    iter: new Map(),
    whole: new Map(),
    directAccesses: 0,
    storesBelow: [],
  };
  return f;
}

function setMax(m: Map<string, number>, k: string, v: number): void {
  const prev = m.get(k);
  if (prev === undefined || v > prev) m.set(k, v);
}

function sumMap(m: ReadonlyMap<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

/**
 * Bytes missing a cache of `capacity` bytes: the data of the outermost loop whose single
 * iteration fits is loaded once per execution of that loop; a kernel whose whole data
 * fits stays warm across calls.
 */
function traffic(root: FootNode, capacity: number): number {
  if (sumMap(root.whole) <= capacity) return 0;
  const go = (node: FootNode, entries: number): number => {
    let t = node.directAccesses * LINE_BYTES * entries * node.trip;
    for (const c of node.children) {
      const n = entries * node.trip * c.frac;
      if (sumMap(c.iter) <= capacity) t += sumMap(c.whole) * n;
      else t += go(c, n);
    }
    return t;
  };
  return go(root, 1);
}

interface TripStats {
  readonly avg: number;
  /** Fraction of executions that run the full static extent. */
  readonly full: number;
  readonly constant: boolean;
}

/** Average trip count of a loop over the iterations of the loops its count depends on. */
function averageTrip(s: ForStmt, path: readonly LoopFrame[]): TripStats {
  const clamp = (v: number) => Math.min(Math.max(v, 0), s.extent);
  if (s.count.k === "const") {
    const c = clamp(s.count.v);
    return { avg: c, full: c >= s.extent ? 1 : 0, constant: true };
  }
  const count = s.count;
  const r = enumerateMean(freeVars(count), path, (env) => {
    const c = clamp(evalInt(count, env));
    return [c, c >= s.extent ? 1 : 0];
  });
  if (r) return { avg: r[0], full: r[1], constant: false };
  const iv = safeInterval(count, rangesOf(path));
  if (!iv) return { avg: s.extent, full: 1, constant: false };
  const lo = clamp(iv.lo);
  const hi = clamp(iv.hi);
  return {
    avg: (lo + hi) / 2,
    full: lo >= s.extent ? 1 : hi >= s.extent ? 0.5 : 0,
    constant: false,
  };
}

/** Fraction of executions passing an `if` (1 when data-dependent or too costly to count). */
function condFraction(c: Cond, path: readonly LoopFrame[]): number {
  const vars = new Set<string>();
  let dataDependent = false;
  const collect = (x: Cond) => {
    if (x.k === "icmp") {
      freeVars(x.a, vars);
      freeVars(x.b, vars);
    } else if (x.k === "fcmp") dataDependent = true;
    else {
      collect(x.a);
      collect(x.b);
    }
  };
  collect(c);
  if (dataDependent) return 1;
  const r = enumerateMean(vars, path, (env) => [evalCond(c, env) ? 1 : 0]);
  return r ? r[0] : 1;
}

function evalCond(c: Cond, env: ReadonlyMap<string, number>): boolean {
  switch (c.k) {
    case "icmp": {
      const a = evalInt(c.a, env);
      const b = evalInt(c.b, env);
      switch (c.op) {
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        case ">=":
          return a >= b;
        case "==":
          return a === b;
        case "!=":
          return a !== b;
      }
      return true;
    }
    case "fcmp":
      return true;
    case "and":
      return evalCond(c.a, env) && evalCond(c.b, env);
    case "or":
      return evalCond(c.a, env) || evalCond(c.b, env);
  }
}

/**
 * Mean of `fn` over every combination of the enclosing loops named in `vars`, or
 * undefined when a variable is unknown or there are too many combinations.
 */
function enumerateMean(
  vars: ReadonlySet<string>,
  path: readonly LoopFrame[],
  fn: (env: ReadonlyMap<string, number>) => number[],
): number[] | undefined {
  const frames: LoopFrame[] = [];
  let total = 1;
  for (const v of vars) {
    const f = findFrame(path, v);
    if (!f) return undefined;
    frames.push(f);
    total *= f.extent;
    if (total > MAX_ENUMERATION) return undefined;
  }
  const env = new Map<string, number>(frames.map((f) => [f.v, 0]));
  let sums: number[] | undefined;
  for (let n = 0; n < total; n++) {
    let rest = n;
    for (const f of frames) {
      env.set(f.v, rest % f.extent);
      rest = Math.floor(rest / f.extent);
    }
    const r = fn(env);
    if (!sums) sums = r.slice();
    else for (let i = 0; i < r.length; i++) sums[i] += r[i];
  }
  return sums?.map((x) => x / total);
}

function findFrame(path: readonly LoopFrame[], v: string): LoopFrame | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (path[i].v === v) return path[i];
  return undefined;
}

function rangesOf(path: readonly LoopFrame[]): Map<string, Interval> {
  return new Map(path.map((f) => [f.v, { lo: 0, hi: f.extent - 1 }]));
}

function safeInterval(e: IntExpr, ranges: ReadonlyMap<string, Interval>): Interval | undefined {
  try {
    return intervalOf(e, ranges);
  } catch {
    return undefined;
  }
}

/**
 * Bytes (whole cache lines) an access touches while the variables in `ranges` vary: the
 * trailing dimensions it covers fully form one contiguous run with the next one.
 */
function accessBytes(
  idx: readonly IntExpr[],
  shape: readonly number[],
  ranges: ReadonlyMap<string, Interval>,
): number {
  const spans = idx.map((x, d) => {
    const iv = safeInterval(x, ranges);
    const span = iv ? iv.hi - iv.lo + 1 : shape[d];
    return Math.max(1, Math.min(span, shape[d]));
  });
  let k = spans.length - 1;
  let run = 1;
  while (k >= 0 && spans[k] === shape[k]) run *= shape[k--];
  if (k >= 0) run *= spans[k];
  let lines = Math.ceil((run * 4) / LINE_BYTES);
  for (let d = 0; d < k; d++) lines *= spans[d];
  const total = Math.ceil((shape.reduce((n, x) => n * x, 1) * 4) / LINE_BYTES);
  return Math.min(lines, total) * LINE_BYTES;
}

/**
 * Row-major elements between consecutive values of `v`; null when not affine in `v`.
 * The flat address is taken as a whole, so a fused loop's `x/d*d + x%d` counts as `x`.
 */
export function strideAlong(
  idx: readonly IntExpr[],
  shape: readonly number[],
  v: string,
): number | null {
  let plain = true;
  for (const x of idx) if (!isAffine(x)) plain = false;
  if (plain) {
    let stride = 0;
    let inner = 1;
    for (let d = idx.length - 1; d >= 0; d--) {
      const c = coefficientOf(idx[d], v);
      if (c === null) return null;
      stride += c * inner;
      inner *= shape[d];
    }
    return stride;
  }
  const terms = flatTerms(idx, shape);
  let stride = 0;
  for (const { atom, coef } of terms.values()) {
    if (atom.k === "var") {
      if (atom.name === v) stride += coef;
    } else if (freeVars(atom).has(v)) return null;
  }
  return stride;
}

function isAffine(e: IntExpr): boolean {
  switch (e.k) {
    case "const":
    case "var":
      return true;
    case "add":
      return isAffine(e.a) && isAffine(e.b);
    case "mul":
      return isAffine(e.a);
    default:
      return false;
  }
}

type Terms = Map<string, { atom: IntExpr; coef: number }>;

/** Linear terms of the flat row-major address, with `x/d` and `x%d` pairs merged into `x`. */
function flatTerms(idx: readonly IntExpr[], shape: readonly number[]): Terms {
  const terms: Terms = new Map();
  const addTerms = (lin: ReturnType<typeof toLinear>, scale: number) => {
    for (const [key, t] of lin.terms) {
      const coef = (terms.get(key)?.coef ?? 0) + t.coef * scale;
      if (coef === 0) terms.delete(key);
      else terms.set(key, { atom: t.atom, coef });
    }
  };
  let inner = 1;
  for (let d = idx.length - 1; d >= 0; d--) {
    addTerms(toLinear(idx[d]), inner);
    inner *= shape[d];
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const [key, t] of terms) {
      if (t.atom.k !== "div") continue;
      const modKey = printInt({ k: "mod", a: t.atom.a, d: t.atom.d });
      const m = terms.get(modKey);
      if (!m || t.coef !== m.coef * t.atom.d) continue;
      terms.delete(key);
      terms.delete(modKey);
      addTerms(toLinear(t.atom.a), m.coef);
      changed = true;
      break;
    }
  }
  return terms;
}

/** Elements one iteration of the run-time loop covers through unrolled and vector loops. */
function innerSpan(
  idx: readonly IntExpr[],
  shape: readonly number[],
  unrolls: readonly LoopFrame[],
  vec: { readonly v: string; readonly lanes: number } | undefined,
): number {
  let span = 1;
  const inner = vec ? [...unrolls, { v: vec.v, extent: vec.lanes }] : unrolls;
  for (const u of inner) {
    const s = strideAlong(idx, shape, u.v);
    if (s === null) return 1;
    span += Math.abs(s) * (u.extent - 1);
  }
  return span;
}

function classOf(stride: number | null, span: number): AccessClass {
  if (stride === 0) return "invariant";
  if (stride !== null && Math.abs(stride) <= span) return "contiguous";
  return "strided";
}

function divModCount(e: IntExpr): number {
  switch (e.k) {
    case "const":
    case "var":
      return 0;
    case "add":
    case "min":
      return divModCount(e.a) + divModCount(e.b) + (e.k === "min" ? 1 : 0);
    case "mul":
      return divModCount(e.a);
    case "div":
    case "mod":
      return 1 + divModCount(e.a);
  }
}

function forEachReadExpr(e: Expr, visit: (r: ReadExpr) => void): void {
  forEachRead(e, (r) => visit(r));
}

function accessKey(buf: string, idx: readonly IntExpr[]): string {
  return `${buf}[${idx.map((x) => printInt(x)).join(",")}]`;
}

function isReductionOf(value: Expr, key: string): boolean {
  if (value.k !== "bin" || !(value.op === "+" || value.op === "max" || value.op === "min"))
    return false;
  const isTarget = (x: Expr) => x.k === "read" && accessKey(x.tensor, x.idx) === key;
  return isTarget(value.a) || isTarget(value.b);
}

function reductionOp(value: Expr): string {
  return value.k === "bin" ? value.op : "+";
}

const CALLS = new Set(["exp", "log", "tanh", "sigmoid"]);

/** Library calls (exp...) that the C compiler does not vectorize without -ffast-math. */
function hasCall(e: Expr): boolean {
  switch (e.k) {
    case "const":
    case "read":
      return false;
    case "bin":
      return hasCall(e.a) || hasCall(e.b);
    case "un":
      return CALLS.has(e.op) || hasCall(e.a);
    case "select":
      return hasCall(e.a) || hasCall(e.b);
  }
}

/** Issue slots of FP operations: per element when scalar, per vector instruction otherwise. */
const BIN_SLOTS: Record<BinaryOp, { s: number; v: number }> = {
  "+": { s: 1, v: 1 },
  "-": { s: 1, v: 1 },
  "*": { s: 1, v: 1 },
  "/": { s: 6, v: 16 },
  min: { s: 2, v: 3 },
  max: { s: 2, v: 3 },
};
/**
 * `v` is per vector instruction, except for `laneWise` ops whose vector form is a scalar
 * call per lane (see codegen: exp, sigmoid and tanh have whole-vector polynomial forms,
 * log does not). `call`: a library call in scalar code.
 */
const UN_SLOTS: Record<UnaryOp, { s: number; v: number; call: boolean; laneWise: boolean }> = {
  neg: { s: 1, v: 1, call: false, laneWise: false },
  abs: { s: 1, v: 1, call: false, laneWise: false },
  sqrt: { s: 6, v: 16, call: false, laneWise: false },
  rsqrt: { s: 8, v: 22, call: false, laneWise: false },
  exp: { s: 14, v: 24, call: true, laneWise: false },
  log: { s: 14, v: 15, call: true, laneWise: true },
  tanh: { s: 30, v: 42, call: true, laneWise: false },
  sigmoid: { s: 22, v: 42, call: true, laneWise: false },
};

interface Cost {
  /** FP issue slots. */
  slots: number;
  /** Integer instructions (index compares of guards), outside the FP ports. */
  intOps: number;
  flops: number;
  vec: boolean;
  transcendental: boolean;
}

/**
 * Cost of one execution of `e`: per element when scalar, per vector instruction when it
 * runs in `lanes`-wide vectors along `vecVar`. Index compares that do not depend on
 * `runtimeVar` or `vecVar` are hoisted (or folded once unrolled) and cost nothing.
 */
function exprCost(
  e: Expr,
  vecVar: string | undefined,
  lanes: number,
  runtimeVar: string | undefined,
): Cost {
  const wide = widthFactor(lanes);
  const go = (x: Expr): Cost => {
    switch (x.k) {
      case "const":
        return { slots: 0, intOps: 0, flops: 0, vec: false, transcendental: false };
      case "read":
        return {
          slots: 0,
          intOps: 0,
          flops: 0,
          vec: vecVar !== undefined && x.idx.some((i) => freeVars(i).has(vecVar)),
          transcendental: false,
        };
      case "bin": {
        const a = go(x.a);
        const b = go(x.b);
        const vec = a.vec || b.vec;
        const fused =
          (x.op === "+" || x.op === "-") &&
          ((x.a.k === "bin" && x.a.op === "*") || (x.b.k === "bin" && x.b.op === "*"));
        const own = fused ? 0 : vec ? BIN_SLOTS[x.op].v * wide : BIN_SLOTS[x.op].s;
        return {
          slots: a.slots + b.slots + own,
          intOps: a.intOps + b.intOps,
          flops: a.flops + b.flops + 1,
          vec,
          transcendental: a.transcendental || b.transcendental,
        };
      }
      case "un": {
        const a = go(x.a);
        const t = UN_SLOTS[x.op];
        const own = a.vec ? (t.laneWise ? t.v * lanes : t.v * wide) : t.s;
        return {
          slots: a.slots + own,
          intOps: a.intOps,
          flops: a.flops + 1,
          vec: a.vec,
          transcendental: a.transcendental || t.call,
        };
      }
      case "select": {
        const c = condCost(x.cond);
        const a = go(x.a);
        const b = go(x.b);
        const vec = c.vec || a.vec || b.vec;
        return {
          slots: c.slots + a.slots + b.slots + (vec ? wide : 1),
          intOps: c.intOps + a.intOps + b.intOps,
          flops: a.flops + b.flops + 1,
          vec,
          transcendental: a.transcendental || b.transcendental,
        };
      }
    }
  };
  const varies = (i: IntExpr) => {
    const vars = freeVars(i);
    return (
      (vecVar !== undefined && vars.has(vecVar)) ||
      (runtimeVar !== undefined && vars.has(runtimeVar))
    );
  };
  const condCost = (c: Cond): { slots: number; intOps: number; vec: boolean } => {
    switch (c.k) {
      case "icmp": {
        const vec =
          vecVar !== undefined && (freeVars(c.a).has(vecVar) || freeVars(c.b).has(vecVar));
        if (vec) return { slots: 2 * wide, intOps: 0, vec };
        return { slots: 0, intOps: varies(c.a) || varies(c.b) ? 2 : 0, vec: false };
      }
      case "fcmp": {
        const a = go(c.a);
        const b = go(c.b);
        return { slots: a.slots + b.slots + 1, intOps: a.intOps + b.intOps, vec: a.vec || b.vec };
      }
      default: {
        const a = condCost(c.a);
        const b = condCost(c.b);
        const vec = a.vec || b.vec;
        return {
          slots: a.slots + b.slots + (vec ? wide : 0),
          intOps: a.intOps + b.intOps + (vec ? 0 : 1),
          vec,
        };
      }
    }
  };
  return go(e);
}
