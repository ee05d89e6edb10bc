/**
 * A direct, unscheduled interpreter of a program. It is the independent oracle that the
 * generated C of the unscheduled program is checked against in tests (small shapes only).
 */
import { evaluateExpr } from "./eval-expr.ts";
import type { Expr, Program } from "./program.ts";
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
  const evalExpr = (e: Expr): number => evaluateExpr(e, env, read);

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
