/** Element-wise ONNX operators as IR expressions (inlined into whatever reads them). */
import {
  divide,
  exp,
  fcmp,
  fmax,
  log,
  minus,
  neg,
  plus,
  rsqrt,
  select,
  sigmoid,
  sqrt,
  tanh,
  times,
  abs,
} from "../../ir/builder.ts";
import type { Expr } from "../../ir/program.ts";
import { stringAttr, type OnnxNode } from "./graph.ts";

/**
 * erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, under fp32 rounding
 * of the other operators): the IR has no erf, and exporters write GELU with it.
 */
export function erf(x: Expr): Expr {
  const t = divide(1, plus(1, times(0.3275911, abs(x))));
  const poly = [1.061405429, -1.453152027, 1.421413741, -0.284496736].reduce<Expr>(
    (acc, a) => plus(times(acc, t), a),
    { k: "const", v: 0 },
  );
  const series = times(t, plus(times(poly, t), 0.254829592));
  const magnitude = minus(1, times(series, exp(neg(times(x, x)))));
  return select(fcmp(x, "<", 0), neg(magnitude), magnitude);
}

export function unaryExpr(n: OnnxNode, x: Expr): Expr {
  switch (n.op) {
    case "Sqrt":
      return sqrt(x);
    case "Reciprocal":
      return divide(1, x);
    case "Exp":
      return exp(x);
    case "Erf":
      return erf(x);
    case "Tanh":
      return tanh(x);
    case "Sigmoid":
      return sigmoid(x);
    case "Relu":
      return fmax(x, 0);
    case "Neg":
      return neg(x);
    case "Gelu":
      return stringAttr(n, "approximate", "none") === "tanh"
        ? times(
            times(0.5, x),
            plus(
              1,
              tanh(times(Math.sqrt(2 / Math.PI), plus(x, times(0.044715, times(x, times(x, x)))))),
            ),
          )
        : times(times(0.5, x), plus(1, erf(times(x, Math.SQRT1_2))));
    default:
      throw new Error(`unaryExpr: ${n.op} is not a unary operator`);
  }
}

/** x ** p for a constant p: exact forms for the exponents exporters write, else exp(p log x). */
export function powExpr(x: Expr, p: number): Expr {
  switch (p) {
    case 1:
      return x;
    case 2:
      return times(x, x);
    case 3:
      return times(x, times(x, x));
    case 0.5:
      return sqrt(x);
    case -0.5:
      return rsqrt(x);
    case -1:
      return divide(1, x);
    default:
      return exp(times(p, log(x)));
  }
}

export function binaryExpr(op: string, a: Expr, b: Expr): Expr {
  switch (op) {
    case "Add":
      return plus(a, b);
    case "Sub":
      return minus(a, b);
    case "Mul":
      return times(a, b);
    case "Div":
      return divide(a, b);
    default:
      throw new Error(`binaryExpr: ${op} is not a binary operator`);
  }
}
