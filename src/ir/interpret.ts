/**
 * A direct, unscheduled interpreter of a program. It is the independent oracle that the
 * generated C of the unscheduled program is checked against in tests (small shapes only).
 */
import { evalInt } from "./int-expr.ts";
import type { Cond, Expr, Program } from "./program.ts";
import { identityOf } from "./program.ts";
import { seededInput } from "./random-inputs.ts";

interface Buffer {
  shape: readonly number[];
  data: Float32Array;
}

const offsetOf = (shape: readonly number[], idx: readonly number[]) =>
  idx.reduce((off, i, d) => off * shape[d] + i, 0);

export function interpret(p: Program, seed: number): Map<string, Float32Array> {
  const buffers = new Map<string, Buffer>();
  p.inputs.forEach((t, i) => {
    const size = t.shape.reduce((n, d) => n * d, 1);
    buffers.set(t.name, { shape: t.shape, data: seededInput(seed, i, size) });
  });
  const env = new Map<string, number>();
  const read = (tensor: string, idx: number[]): number => {
    const b = buffers.get(tensor);
    if (!b) throw new Error(`interpreter: unknown tensor '${tensor}'`);
    idx.forEach((i, d) => {
      if (i < 0 || i >= b.shape[d]) throw new Error(`interpreter: ${tensor} read out of bounds`);
    });
    return b.data[offsetOf(b.shape, idx)];
  };
  const f = Math.fround;
  const evalExpr = (e: Expr): number => {
    switch (e.k) {
      case "const":
        return f(e.v);
      case "read":
        return read(
          e.tensor,
          e.idx.map((i) => evalInt(i, env)),
        );
      case "bin": {
        const a = evalExpr(e.a);
        const b = evalExpr(e.b);
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
        const a = evalExpr(e.a);
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
        return evalCond(e.cond) ? evalExpr(e.a) : evalExpr(e.b);
    }
    throw new Error("interpreter: unreachable expression kind");
  };
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
  const evalCond = (c: Cond): boolean => {
    switch (c.k) {
      case "icmp":
        return compare(c.op, evalInt(c.a, env), evalInt(c.b, env));
      case "fcmp":
        return compare(c.op, evalExpr(c.a), evalExpr(c.b));
      case "and":
        return evalCond(c.a) && evalCond(c.b);
      case "or":
        return evalCond(c.a) || evalCond(c.b);
    }
  };

  for (const s of p.stages) {
    const shape = s.axes.map((a) => a.extent);
    const out = new Float32Array(shape.reduce((n, d) => n * d, 1));
    buffers.set(s.name, { shape, data: out });
    const point = new Array<number>(s.axes.length).fill(0);
    const visitSpatial = (d: number) => {
      if (d === s.axes.length) {
        out[offsetOf(shape, point)] = s.combiner
          ? reduceAt(0, identityOf(s.combiner))
          : evalExpr(s.body);
        return;
      }
      for (let i = 0; i < s.axes[d].extent; i++) {
        point[d] = i;
        env.set(s.axes[d].name, i);
        visitSpatial(d + 1);
      }
    };
    const reduceAt = (d: number, acc: number): number => {
      if (d === s.reduceAxes.length) {
        const v = evalExpr(s.body);
        return s.combiner === "max" ? Math.max(acc, v) : f(acc + v);
      }
      for (let i = 0; i < s.reduceAxes[d].extent; i++) {
        env.set(s.reduceAxes[d].name, i);
        acc = reduceAt(d + 1, acc);
      }
      return acc;
    };
    visitSpatial(0);
  }
  return new Map(p.outputs.map((o) => [o, buffers.get(o)!.data]));
}
