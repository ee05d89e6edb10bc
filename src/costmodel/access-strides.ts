/**
 * How an access moves through memory: its row-major stride along a loop, the elements
 * one iteration covers, its class (contiguous, invariant, strided) and the cache lines
 * it touches while some loops vary.
 */
import { intervalOf, type IntExpr, type Interval } from "../ir/int-expr.ts";
import { strideAlong } from "../ir/strides.ts";
import type { AccessClass } from "./nest-analysis.ts";
import type { LoopFrame } from "./trip-average.ts";

export function safeInterval(
  e: IntExpr,
  ranges: ReadonlyMap<string, Interval>,
): Interval | undefined {
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
export function accessBytes(
  idx: readonly IntExpr[],
  shape: readonly number[],
  ranges: ReadonlyMap<string, Interval>,
  lineBytes: number,
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
  let lines = Math.ceil((run * 4) / lineBytes);
  for (let d = 0; d < k; d++) lines *= spans[d];
  const total = Math.ceil((shape.reduce((n, x) => n * x, 1) * 4) / lineBytes);
  return Math.min(lines, total) * lineBytes;
}

/** Elements one iteration of the run-time loop covers through unrolled and vector loops. */
export function innerSpan(
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

export function classOf(stride: number | null, span: number): AccessClass {
  if (stride === 0) return "invariant";
  if (stride !== null && Math.abs(stride) <= span) return "contiguous";
  return "strided";
}

export function divModCount(e: IntExpr): number {
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
