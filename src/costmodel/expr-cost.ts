/**
 * What one statement's expression costs: FP issue slots (scalar or per vector
 * instruction), integer work, FLOPs, library calls; and recognising a reduction update.
 */
import { freeVars, printInt, type IntExpr } from "../ir/int-expr.ts";
import { forEachRead, type BinaryOp, type Cond, type Expr, type UnaryOp } from "../ir/program.ts";
import { widthFactor, type MachineModel } from "./machine-model.ts";

type ReadExpr = Extract<Expr, { k: "read" }>;

/** Instruction size of an expression (operations and loads), for the unrolling limit. */
export function exprSize(e: Expr): number {
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

export function forEachReadExpr(e: Expr, visit: (r: ReadExpr) => void): void {
  forEachRead(e, (r) => visit(r));
}

export function accessKey(buf: string, idx: readonly IntExpr[]): string {
  return `${buf}[${idx.map((x) => printInt(x)).join(",")}]`;
}

export function isReductionOf(value: Expr, key: string): boolean {
  if (value.k !== "bin" || !(value.op === "+" || value.op === "max" || value.op === "min"))
    return false;
  const isTarget = (x: Expr) => x.k === "read" && accessKey(x.tensor, x.idx) === key;
  return isTarget(value.a) || isTarget(value.b);
}

export function reductionOp(value: Expr): string {
  return value.k === "bin" ? value.op : "+";
}

const CALLS = new Set(["exp", "log", "tanh", "sigmoid"]);

/** Library calls (exp...) that the C compiler does not vectorize without -ffast-math. */
export function hasCall(e: Expr): boolean {
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
export function exprCost(
  e: Expr,
  vecVar: string | undefined,
  lanes: number,
  runtimeVar: string | undefined,
  machine: MachineModel,
): Cost {
  const wide = widthFactor(lanes, machine);
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
