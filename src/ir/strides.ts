/**
 * The one stride helper: how far apart, in row-major elements, consecutive values of a
 * loop variable place an access. Lowering quotes it when it refuses a vector loop; the
 * cost model classifies accesses by it.
 */
import { coefficientOf, freeVars, printInt, toLinear, type IntExpr } from "./int-expr.ts";

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
