/**
 * A small tensor-expression language for defining programs:
 *
 *   const b = new ProgramBuilder("matmul", { M, N, K });
 *   const A = b.input("A", [M, K]);
 *   const B = b.weight("B", [K, N]);     // a model parameter, constant across calls
 *   const C = b.reduce("C", { i: M, j: N }, { k: K }, "sum", ({ i, j, k }) => times(A.at(i, k), B.at(k, j)));
 *   return b.build([C]);
 */
import { add, intConst, intervalOf, intVar, type IntExpr, type IntLike } from "./int-expr.ts";
import type {
  Axis,
  BinaryOp,
  Combiner,
  CompareOp,
  Cond,
  Expr,
  Program,
  Stage,
  Tensor,
  UnaryOp,
} from "./program.ts";
import { forEachRead } from "./program.ts";

export class ProgramError extends Error {
  constructor(
    readonly program: string,
    message: string,
  ) {
    super(`program '${program}': ${message}`);
    this.name = "ProgramError";
  }
}

export type ExprLike = Expr | number;
const lift = (e: ExprLike): Expr => (typeof e === "number" ? { k: "const", v: e } : e);
const liftInt = (e: IntLike): IntExpr => (typeof e === "number" ? intConst(e) : e);

export class TensorRef {
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
  ) {}
  at(...idx: IntLike[]): Expr {
    if (idx.length !== this.shape.length) {
      throw new Error(
        `tensor '${this.name}' has rank ${this.shape.length}, indexed with ${idx.length} indices`,
      );
    }
    return { k: "read", tensor: this.name, idx: idx.map(liftInt) };
  }
}

const bin =
  (op: BinaryOp) =>
  (a: ExprLike, b: ExprLike): Expr => ({ k: "bin", op, a: lift(a), b: lift(b) });
const un =
  (op: UnaryOp) =>
  (a: ExprLike): Expr => ({ k: "un", op, a: lift(a) });

export const plus = bin("+");
export const minus = bin("-");
export const times = bin("*");
export const divide = bin("/");
export const fmin = bin("min");
export const fmax = bin("max");
export const neg = un("neg");
export const exp = un("exp");
export const log = un("log");
export const sqrt = un("sqrt");
export const rsqrt = un("rsqrt");
export const tanh = un("tanh");
export const sigmoid = un("sigmoid");
export const abs = un("abs");
/** SiLU(x) = x * sigmoid(x). */
export const silu = (a: ExprLike): Expr => times(a, sigmoid(a));
export const select = (cond: Cond, a: ExprLike, b: ExprLike): Expr => ({
  k: "select",
  cond,
  a: lift(a),
  b: lift(b),
});
export const icmp = (a: IntLike, op: CompareOp, b: IntLike): Cond => ({
  k: "icmp",
  op,
  a: liftInt(a),
  b: liftInt(b),
});
export const fcmp = (a: ExprLike, op: CompareOp, b: ExprLike): Cond => ({
  k: "fcmp",
  op,
  a: lift(a),
  b: lift(b),
});
export const and = (a: Cond, b: Cond): Cond => ({ k: "and", a, b });
export const or = (a: Cond, b: Cond): Cond => ({ k: "or", a, b });
/** Sum of index terms, re-exported for workload definitions. */
export const idx = add;

type AxisVars<T extends string> = Record<T, IntExpr>;

export class ProgramBuilder {
  private readonly inputs: Tensor[] = [];
  private readonly weights: string[] = [];
  private readonly stages: Stage[] = [];
  private readonly shapes = new Map<string, readonly number[]>();

  constructor(
    readonly name: string,
    readonly params: Readonly<Record<string, number>>,
  ) {
    for (const [k, v] of Object.entries(params)) {
      if (!Number.isInteger(v) || v < 0) {
        throw new ProgramError(name, `shape parameter ${k}=${v} must be a non-negative integer`);
      }
    }
  }

  input(name: string, shape: readonly number[]): TensorRef {
    this.declare(name, shape);
    this.inputs.push({ name, shape });
    return new TensorRef(name, shape);
  }

  /** An input that is a model parameter: constant across calls (see Program.weights). */
  weight(name: string, shape: readonly number[]): TensorRef {
    const ref = this.input(name, shape);
    this.weights.push(name);
    return ref;
  }

  /** An element-wise (or gather-style) stage without reduction. */
  compute<S extends string>(
    name: string,
    axes: Record<S, number>,
    body: (v: AxisVars<S>) => ExprLike,
  ): TensorRef {
    return this.addStage(name, axes, {}, undefined, body as (v: AxisVars<string>) => ExprLike);
  }

  /** A reduction stage: out[spatial] = combine over reduce axes of body. */
  reduce<S extends string, R extends string>(
    name: string,
    axes: Record<S, number>,
    reduceAxes: Record<R, number>,
    combiner: Combiner,
    body: (v: AxisVars<S | R>) => ExprLike,
  ): TensorRef {
    return this.addStage(
      name,
      axes,
      reduceAxes,
      combiner,
      body as (v: AxisVars<string>) => ExprLike,
    );
  }

  build(outputs: readonly TensorRef[]): Program {
    const program: Program = {
      name: this.name,
      params: { ...this.params },
      inputs: [...this.inputs],
      weights: [...this.weights],
      stages: [...this.stages],
      outputs: outputs.map((o) => o.name),
    };
    validateProgram(program);
    return program;
  }

  private declare(name: string, shape: readonly number[]) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw new ProgramError(this.name, `tensor name '${name}' must be an identifier`);
    }
    if (this.shapes.has(name))
      throw new ProgramError(this.name, `tensor '${name}' is defined twice`);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ProgramError(this.name, `tensor '${name}' has invalid shape [${shape.join(", ")}]`);
    }
    this.shapes.set(name, shape);
  }

  private addStage(
    name: string,
    axes: Record<string, number>,
    reduceAxes: Record<string, number>,
    combiner: Combiner | undefined,
    body: (v: AxisVars<string>) => ExprLike,
  ): TensorRef {
    const toAxes = (r: Record<string, number>): Axis[] =>
      Object.entries(r).map(([n, extent]) => ({ name: n, extent }));
    const spatial = toAxes(axes);
    const reduction = toAxes(reduceAxes);
    const vars: AxisVars<string> = {};
    for (const a of [...spatial, ...reduction]) vars[a.name] = intVar(a.name);
    this.declare(
      name,
      spatial.map((a) => a.extent),
    );
    const stage: Stage = {
      name,
      axes: spatial,
      reduceAxes: reduction,
      ...(combiner ? { combiner } : {}),
      body: lift(body(vars)),
    };
    this.stages.push(stage);
    return new TensorRef(
      name,
      stage.axes.map((a) => a.extent),
    );
  }
}

/** Checks names, topological order and that every unguarded read stays in bounds. */
export function validateProgram(p: Program): void {
  const known = new Map<string, readonly number[]>(p.inputs.map((t) => [t.name, t.shape]));
  for (const s of p.stages) {
    const axisNames = [...s.axes, ...s.reduceAxes].map((a) => a.name);
    if (new Set(axisNames).size !== axisNames.length) {
      throw new ProgramError(p.name, `stage '${s.name}' repeats an axis name`);
    }
    if (s.reduceAxes.length > 0 !== (s.combiner !== undefined)) {
      throw new ProgramError(
        p.name,
        `stage '${s.name}' needs a combiner exactly when it has reduction axes`,
      );
    }
    const ranges = new Map(
      [...s.axes, ...s.reduceAxes].map((a) => [a.name, { lo: 0, hi: a.extent - 1 }]),
    );
    forEachRead(s.body, (r, guarded) => {
      const shape = known.get(r.tensor);
      if (!shape) {
        throw new ProgramError(
          p.name,
          `stage '${s.name}' reads '${r.tensor}', which is not defined before it`,
        );
      }
      if (shape.length !== r.idx.length) {
        throw new ProgramError(
          p.name,
          `stage '${s.name}' indexes '${r.tensor}' with the wrong rank`,
        );
      }
      if (guarded) return;
      r.idx.forEach((ix, d) => {
        const iv = intervalOf(ix, ranges);
        if (iv.lo < 0 || iv.hi >= shape[d]) {
          throw new ProgramError(
            p.name,
            `stage '${s.name}' reads '${r.tensor}' out of bounds in dimension ${d} (index range ${iv.lo}..${iv.hi}, extent ${shape[d]})`,
          );
        }
      });
    });
    known.set(
      s.name,
      s.axes.map((a) => a.extent),
    );
  }
  for (const o of p.outputs) {
    if (!p.stages.some((s) => s.name === o))
      throw new ProgramError(p.name, `output '${o}' is not a stage`);
  }
}
