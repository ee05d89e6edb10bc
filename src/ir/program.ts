/**
 * The tensor program: a small DAG of stages. Each stage computes one fp32 output tensor
 * over a rectangular domain of spatial axes, optionally reduced over reduction axes with
 * a combiner, from an expression over reads of other tensors.
 */
import type { IntExpr } from "./int-expr.ts";

export type BinaryOp = "+" | "-" | "*" | "/" | "min" | "max";
export type UnaryOp = "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "tanh" | "sigmoid" | "abs";
export type CompareOp = "<" | "<=" | ">" | ">=" | "==" | "!=";
export type Combiner = "sum" | "max";

export type Cond =
  | { readonly k: "icmp"; readonly op: CompareOp; readonly a: IntExpr; readonly b: IntExpr }
  | { readonly k: "fcmp"; readonly op: CompareOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: "and"; readonly a: Cond; readonly b: Cond }
  | { readonly k: "or"; readonly a: Cond; readonly b: Cond };

export type Expr =
  | { readonly k: "const"; readonly v: number }
  | { readonly k: "read"; readonly tensor: string; readonly idx: readonly IntExpr[] }
  | { readonly k: "bin"; readonly op: BinaryOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: "un"; readonly op: UnaryOp; readonly a: Expr }
  | { readonly k: "select"; readonly cond: Cond; readonly a: Expr; readonly b: Expr };

export interface Axis {
  readonly name: string;
  readonly extent: number;
}

export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface Stage {
  readonly name: string;
  readonly axes: readonly Axis[];
  readonly reduceAxes: readonly Axis[];
  /** Present exactly when reduceAxes is non-empty. */
  readonly combiner?: Combiner;
  readonly body: Expr;
}

export interface Program {
  readonly name: string;
  /** Named shape parameters the program was built with, for display. */
  readonly params: Readonly<Record<string, number>>;
  readonly inputs: readonly Tensor[];
  /**
   * Inputs that are model parameters (weights, biases, norm scales): constant across
   * calls, so a schedule may re-lay them once before the timed runs (`prepare`).
   */
  readonly weights: readonly string[];
  /** Topologically ordered: a stage reads only inputs and earlier stages. */
  readonly stages: readonly Stage[];
  readonly outputs: readonly string[];
}

export const stageShape = (s: Stage): number[] => s.axes.map((a) => a.extent);

export function tensorShape(p: Program, name: string): readonly number[] {
  const input = p.inputs.find((t) => t.name === name);
  if (input) return input.shape;
  const stage = p.stages.find((s) => s.name === name);
  if (stage) return stageShape(stage);
  throw new Error(`program '${p.name}' has no tensor '${name}'`);
}

export const isWeight = (p: Program, tensor: string): boolean => p.weights.includes(tensor);

/**
 * Tensors constant across calls: the weights, and every stage that is not an output and
 * reads only constants (a table of coefficients reads nothing; a transformed filter reads
 * a weight). Such a stage is computed once in `prepare`, as ONNX Runtime folds an
 * initializer-only subgraph when it loads a model.
 */
export function constantTensors(p: Program): Set<string> {
  const constant = new Set(p.weights);
  for (const s of p.stages) {
    let readsOnlyConstants = !p.outputs.includes(s.name);
    forEachRead(s.body, (r) => {
      if (!constant.has(r.tensor)) readsOnlyConstants = false;
    });
    if (readsOnlyConstants) constant.add(s.name);
  }
  return constant;
}

export const isConstant = (p: Program, tensor: string): boolean => constantTensors(p).has(tensor);

export function identityOf(c: Combiner): number {
  return c === "sum" ? 0 : -Infinity;
}

/** Walks every read in an expression (including those inside select conditions). */
export function forEachRead(
  e: Expr,
  visit: (r: Extract<Expr, { k: "read" }>, guarded: boolean) => void,
  guarded = false,
): void {
  switch (e.k) {
    case "const":
      return;
    case "read":
      visit(e, guarded);
      return;
    case "bin":
      forEachRead(e.a, visit, guarded);
      forEachRead(e.b, visit, guarded);
      return;
    case "un":
      forEachRead(e.a, visit, guarded);
      return;
    case "select":
      forEachReadInCond(e.cond, visit, guarded);
      forEachRead(e.a, visit, true);
      forEachRead(e.b, visit, true);
      return;
  }
}

/** Walks every read in a condition. */
export function forEachReadInCond(
  c: Cond,
  visit: (r: Extract<Expr, { k: "read" }>, guarded: boolean) => void,
  guarded: boolean,
): void {
  switch (c.k) {
    case "icmp":
      return;
    case "fcmp":
      forEachRead(c.a, visit, guarded);
      forEachRead(c.b, visit, guarded);
      return;
    default:
      forEachReadInCond(c.a, visit, guarded);
      forEachReadInCond(c.b, visit, guarded);
  }
}

/** Rebuilds an expression bottom-up; `onRead` may replace a read by any expression. */
export function mapExpr(
  e: Expr,
  onRead: (r: Extract<Expr, { k: "read" }>) => Expr,
  onIndex: (i: IntExpr) => IntExpr = (i) => i,
): Expr {
  const go = (x: Expr): Expr => {
    switch (x.k) {
      case "const":
        return x;
      case "read":
        return onRead({ k: "read", tensor: x.tensor, idx: x.idx.map(onIndex) });
      case "bin":
        return { k: "bin", op: x.op, a: go(x.a), b: go(x.b) };
      case "un":
        return { k: "un", op: x.op, a: go(x.a) };
      case "select":
        return { k: "select", cond: goCond(x.cond), a: go(x.a), b: go(x.b) };
    }
  };
  const goCond = (c: Cond): Cond => {
    switch (c.k) {
      case "icmp":
        return { k: "icmp", op: c.op, a: onIndex(c.a), b: onIndex(c.b) };
      case "fcmp":
        return { k: "fcmp", op: c.op, a: go(c.a), b: go(c.b) };
      default:
        return { k: c.k, a: goCond(c.a), b: goCond(c.b) };
    }
  };
  return go(e);
}

/** Number of floating-point operations of one evaluation of the program. */
export function flopCount(p: Program): number {
  return p.stages.reduce((total, s) => total + stageFlops(s), 0);
}

/**
 * Operations the kernel itself executes: constant stages run once, in prepare. After a
 * rewrite (winograd) this is fewer than the workload's `flopCount`, which stays the
 * measure of speed (effective GFLOP/s) while this one bounds the time from below.
 */
export function kernelFlopCount(p: Program): number {
  const constant = constantTensors(p);
  return p.stages.reduce((total, s) => total + (constant.has(s.name) ? 0 : stageFlops(s)), 0);
}

function stageFlops(s: Stage): number {
  const points = [...s.axes, ...s.reduceAxes].reduce((n, a) => n * a.extent, 1);
  return points * (exprFlops(s.body) + (s.reduceAxes.length > 0 ? 1 : 0));
}

function exprFlops(e: Expr): number {
  switch (e.k) {
    case "const":
    case "read":
      return 0;
    case "bin":
      return 1 + exprFlops(e.a) + exprFlops(e.b);
    case "un":
      return 1 + exprFlops(e.a);
    case "select":
      return 1 + exprFlops(e.a) + exprFlops(e.b);
  }
}

/** The compulsory memory traffic: bytes of the inputs (read) and of the outputs (written). */
export function compulsoryTraffic(p: Program): { readBytes: number; writtenBytes: number } {
  const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1) * 4;
  return {
    readBytes: p.inputs.reduce((n, t) => n + size(t.shape), 0),
    writtenBytes: p.outputs.reduce((n, out) => n + size(tensorShape(p, out)), 0),
  };
}

/** Bytes of the program's inputs and outputs: the compulsory memory traffic. */
export function compulsoryBytes(p: Program): number {
  const traffic = compulsoryTraffic(p);
  return traffic.readBytes + traffic.writtenBytes;
}

/**
 * Bytes of every tensor of the program: inputs, intermediates and outputs, each stored
 * once (fp32), as the unscheduled program allocates them. What must stream through the
 * caches when it does not fit.
 */
export function footprintBytes(p: Program): number {
  const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1) * 4;
  return (
    p.inputs.reduce((n, t) => n + size(t.shape), 0) +
    p.stages.reduce((n, s) => n + size(stageShape(s)), 0)
  );
}
