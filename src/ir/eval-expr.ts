/**
 * Evaluates an expression at given loop-variable values in fp32, each operation rounded
 * as the generated C rounds it: the interpreter's arithmetic, and codegen's for the
 * coefficient tables it folds into the kernel (codegen/fold-tables.ts).
 */
import { evalInt, type IntExpr } from "./int-expr.ts";
import type { Cond, Expr } from "./program.ts";

export type TensorReader = (tensor: string, idx: number[]) => number;

const f = Math.fround;

export function evaluateExpr(
  e: Expr,
  env: ReadonlyMap<string, number>,
  read: TensorReader,
): number {
  const go = (x: Expr) => evaluateExpr(x, env, read);
  switch (e.k) {
    case "const":
      return f(e.v);
    case "read":
      return read(
        e.tensor,
        e.idx.map((i: IntExpr) => evalInt(i, env)),
      );
    case "bin": {
      const a = go(e.a);
      const b = go(e.b);
      switch (e.op) {
        case "+":
          return f(a + b);
        case "-":
          return f(a - b);
        case "*":
          return f(a * b);
        case "/":
          return f(a / b);
        case "min":
          return Math.min(a, b);
        case "max":
          return Math.max(a, b);
      }
      break;
    }
    case "un": {
      const a = go(e.a);
      switch (e.op) {
        case "neg":
          return -a;
        case "exp":
          return f(Math.exp(a));
        case "log":
          return f(Math.log(a));
        case "sqrt":
          return f(Math.sqrt(a));
        case "rsqrt":
          return f(1 / Math.sqrt(a));
        case "tanh":
          return f(Math.tanh(a));
        case "sigmoid":
          return f(1 / (1 + Math.exp(-a)));
        case "abs":
          return Math.abs(a);
      }
      break;
    }
    case "select":
      return evaluateCond(e.cond, env, read) ? go(e.a) : go(e.b);
  }
  throw new Error("evaluateExpr: unreachable expression kind");
}

const compare = (op: string, a: number, b: number): boolean =>
  op === "<"
    ? a < b
    : op === "<="
      ? a <= b
      : op === ">"
        ? a > b
        : op === ">="
          ? a >= b
          : op === "=="
            ? a === b
            : a !== b;

export function evaluateCond(
  c: Cond,
  env: ReadonlyMap<string, number>,
  read: TensorReader,
): boolean {
  switch (c.k) {
    case "icmp":
      return compare(c.op, evalInt(c.a, env), evalInt(c.b, env));
    case "fcmp":
      return compare(c.op, evaluateExpr(c.a, env, read), evaluateExpr(c.b, env, read));
    case "and":
      return evaluateCond(c.a, env, read) && evaluateCond(c.b, env, read);
    case "or":
      return evaluateCond(c.a, env, read) || evaluateCond(c.b, env, read);
  }
}
