/**
 * Integer index expressions over named variables (axes or loop variables).
 *
 * Everything is kept in a normal form: a linear combination of atoms plus a constant,
 * where an atom is a variable or a floor-division / modulo by a positive constant.
 * That normal form is what makes contiguity, strides, bounds and regions cheap to infer.
 */

export type IntExpr =
  | { readonly k: "const"; readonly v: number }
  | { readonly k: "var"; readonly name: string }
  | { readonly k: "add"; readonly a: IntExpr; readonly b: IntExpr }
  | { readonly k: "mul"; readonly a: IntExpr; readonly c: number }
  | { readonly k: "div"; readonly a: IntExpr; readonly d: number }
  | { readonly k: "mod"; readonly a: IntExpr; readonly d: number }
  | { readonly k: "min"; readonly a: IntExpr; readonly b: IntExpr };

export type IntLike = IntExpr | number;

export const intConst = (v: number): IntExpr => ({ k: "const", v });
export const intVar = (name: string): IntExpr => ({ k: "var", name });
const lift = (e: IntLike): IntExpr => (typeof e === "number" ? intConst(e) : e);

export function add(...terms: IntLike[]): IntExpr {
  if (terms.length === 0) return intConst(0);
  return simplify(terms.map(lift).reduce((a, b) => ({ k: "add", a, b })));
}
export const sub = (a: IntLike, b: IntLike): IntExpr => add(a, mul(b, -1));
export const mul = (a: IntLike, c: number): IntExpr => simplify({ k: "mul", a: lift(a), c });
export function floorDiv(a: IntLike, d: number): IntExpr {
  if (d <= 0 || !Number.isInteger(d))
    throw new Error(`floorDiv by ${d}: divisor must be a positive integer`);
  return simplify({ k: "div", a: lift(a), d });
}
export function mod(a: IntLike, d: number): IntExpr {
  if (d <= 0 || !Number.isInteger(d))
    throw new Error(`mod by ${d}: divisor must be a positive integer`);
  return simplify({ k: "mod", a: lift(a), d });
}
export const intMin = (a: IntLike, b: IntLike): IntExpr =>
  simplify({ k: "min", a: lift(a), b: lift(b) });

/** Linear form: sum of coef * atom + constant. Atoms are keyed by their printed form. */
export interface Linear {
  readonly terms: Map<string, { atom: IntExpr; coef: number }>;
  readonly c: number;
}

export function toLinear(e: IntExpr): Linear {
  const l = { terms: new Map<string, { atom: IntExpr; coef: number }>(), c: 0 };
  addLinear(l, e, 1);
  return l;
}

// Module-level rather than closures: toLinear and printInt run for every index of every
// candidate the proposers lower, and a closure per call costs more than the walk (under
// tsx each named closure is also renamed with Object.defineProperty when created).
function addLinear(l: { terms: Linear["terms"]; c: number }, x: IntExpr, scale: number): void {
  switch (x.k) {
    case "const":
      l.c += scale * x.v;
      return;
    case "add":
      addLinear(l, x.a, scale);
      addLinear(l, x.b, scale);
      return;
    case "mul":
      addLinear(l, x.a, scale * x.c);
      return;
    default: {
      const key = printInt(x);
      const next = (l.terms.get(key)?.coef ?? 0) + scale;
      if (next === 0) l.terms.delete(key);
      else l.terms.set(key, { atom: x, coef: next });
    }
  }
}

export function fromLinear(l: Linear): IntExpr {
  let out: IntExpr | undefined;
  const sorted = [...l.terms.values()].sort((x, y) => (x.coef < 0 ? 1 : 0) - (y.coef < 0 ? 1 : 0));
  for (const { atom, coef } of sorted) {
    const term: IntExpr = coef === 1 ? atom : { k: "mul", a: atom, c: coef };
    out = out ? { k: "add", a: out, b: term } : term;
  }
  if (!out) return intConst(l.c);
  return l.c === 0 ? out : { k: "add", a: out, b: intConst(l.c) };
}

/** Constant-folds and puts the expression into linear normal form. */
export function simplify(e: IntExpr): IntExpr {
  switch (e.k) {
    case "const":
    case "var":
      return e;
    case "div": {
      const a = simplify(e.a);
      if (e.d === 1) return a;
      if (a.k === "const") return intConst(Math.floor(a.v / e.d));
      // (x*d + y) / d == x + y/d when every coefficient of x is a multiple of d
      const lin = toLinear(a);
      const whole = new Map<string, { atom: IntExpr; coef: number }>();
      const rest = new Map<string, { atom: IntExpr; coef: number }>();
      for (const [key, t] of lin.terms) (t.coef % e.d === 0 ? whole : rest).set(key, t);
      const restLin: Linear = { terms: rest, c: ((lin.c % e.d) + e.d) % e.d };
      const wholeC = (lin.c - restLin.c) / e.d;
      const divided: Linear = {
        terms: new Map([...whole].map(([k, t]) => [k, { atom: t.atom, coef: t.coef / e.d }])),
        c: wholeC,
      };
      const restExpr = fromLinear(restLin);
      const restDiv: IntExpr =
        rest.size === 0 ? intConst(Math.floor(restLin.c / e.d)) : { k: "div", a: restExpr, d: e.d };
      return fromLinear(combine(divided, toLinear(restDiv)));
    }
    case "mod": {
      const a = simplify(e.a);
      if (e.d === 1) return intConst(0);
      if (a.k === "const") return intConst(((a.v % e.d) + e.d) % e.d);
      const lin = toLinear(a);
      const rest = new Map([...lin.terms].filter(([, t]) => t.coef % e.d !== 0));
      const restLin: Linear = { terms: rest, c: ((lin.c % e.d) + e.d) % e.d };
      if (rest.size === 0) return intConst(restLin.c);
      return { k: "mod", a: fromLinear(restLin), d: e.d };
    }
    case "min": {
      const a = simplify(e.a);
      const b = simplify(e.b);
      if (a.k === "const" && b.k === "const") return intConst(Math.min(a.v, b.v));
      if (printInt(a) === printInt(b)) return a;
      return { k: "min", a, b };
    }
    default:
      return fromLinear(toLinear(e));
  }
}

function combine(x: Linear, y: Linear): Linear {
  const terms = new Map(x.terms);
  for (const [key, t] of y.terms) {
    const coef = (terms.get(key)?.coef ?? 0) + t.coef;
    if (coef === 0) terms.delete(key);
    else terms.set(key, { atom: t.atom, coef });
  }
  return { terms, c: x.c + y.c };
}

export function freeVars(e: IntExpr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "const":
      break;
    case "var":
      out.add(e.name);
      break;
    case "add":
    case "min":
      freeVars(e.a, out);
      freeVars(e.b, out);
      break;
    default:
      freeVars(e.a, out);
  }
  return out;
}

export function substitute(e: IntExpr, env: ReadonlyMap<string, IntExpr>): IntExpr {
  const go = (x: IntExpr): IntExpr => {
    switch (x.k) {
      case "const":
        return x;
      case "var":
        return env.get(x.name) ?? x;
      case "add":
        return { k: "add", a: go(x.a), b: go(x.b) };
      case "min":
        return { k: "min", a: go(x.a), b: go(x.b) };
      case "mul":
        return { k: "mul", a: go(x.a), c: x.c };
      case "div":
        return { k: "div", a: go(x.a), d: x.d };
      case "mod":
        return { k: "mod", a: go(x.a), d: x.d };
    }
  };
  return simplify(go(e));
}

/**
 * Coefficient of `v` when `e` is affine in `v` (v appears only as a plain linear term),
 * 0 when `e` does not mention `v`, and null when `v` sits inside a div, mod or min.
 */
export function coefficientOf(e: IntExpr, v: string): number | null {
  const lin = toLinear(simplify(e));
  let coef = 0;
  for (const { atom, coef: c } of lin.terms.values()) {
    if (atom.k === "var") {
      if (atom.name === v) coef += c;
    } else if (freeVars(atom).has(v)) {
      return null;
    }
  }
  return coef;
}

export interface Interval {
  lo: number;
  hi: number;
}

/** Conservative interval of `e` given inclusive ranges of its variables. */
export function intervalOf(e: IntExpr, ranges: ReadonlyMap<string, Interval>): Interval {
  switch (e.k) {
    case "const":
      return { lo: e.v, hi: e.v };
    case "var": {
      const r = ranges.get(e.name);
      if (!r) throw new Error(`no range known for variable '${e.name}'`);
      return r;
    }
    case "add": {
      const a = intervalOf(e.a, ranges);
      const b = intervalOf(e.b, ranges);
      return { lo: a.lo + b.lo, hi: a.hi + b.hi };
    }
    case "mul": {
      const a = intervalOf(e.a, ranges);
      const x = a.lo * e.c;
      const y = a.hi * e.c;
      return { lo: Math.min(x, y), hi: Math.max(x, y) };
    }
    case "div": {
      const a = intervalOf(e.a, ranges);
      return { lo: Math.floor(a.lo / e.d), hi: Math.floor(a.hi / e.d) };
    }
    case "mod": {
      const a = intervalOf(e.a, ranges);
      if (a.lo >= 0 && a.hi < e.d) return a;
      return { lo: 0, hi: e.d - 1 };
    }
    case "min": {
      const a = intervalOf(e.a, ranges);
      const b = intervalOf(e.b, ranges);
      return { lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
    }
  }
}

export function evalInt(e: IntExpr, env: ReadonlyMap<string, number>): number {
  switch (e.k) {
    case "const":
      return e.v;
    case "var": {
      const v = env.get(e.name);
      if (v === undefined) throw new Error(`no value for variable '${e.name}'`);
      return v;
    }
    case "add":
      return evalInt(e.a, env) + evalInt(e.b, env);
    case "mul":
      return evalInt(e.a, env) * e.c;
    case "div":
      return Math.floor(evalInt(e.a, env) / e.d);
    case "mod": {
      const a = evalInt(e.a, env);
      return ((a % e.d) + e.d) % e.d;
    }
    case "min":
      return Math.min(evalInt(e.a, env), evalInt(e.b, env));
  }
}

/** Human-readable form, also used as the canonical key of an atom. */
export function printInt(
  e: IntExpr,
  name: (v: string) => string = sameName,
  minFunction = "min",
): string {
  return printPrec(e, 0, name, minFunction);
}

function sameName(v: string): string {
  return v;
}

function printPrec(
  x: IntExpr,
  prec: number,
  name: (v: string) => string,
  minFunction: string,
): string {
  switch (x.k) {
    case "const":
      return x.v < 0 && prec > 0 ? `(${x.v})` : String(x.v);
    case "var":
      return name(x.name);
    case "add": {
      const a = printPrec(x.a, 1, name, minFunction);
      const neg = negatedTerm(x.b);
      const s = neg
        ? `${a} - ${printPrec(neg, 2, name, minFunction)}`
        : `${a} + ${printPrec(x.b, 1, name, minFunction)}`;
      return prec > 1 ? `(${s})` : s;
    }
    case "mul": {
      const s = `${printPrec(x.a, 2, name, minFunction)}*${x.c < 0 ? `(${x.c})` : x.c}`;
      return prec > 2 ? `(${s})` : s;
    }
    case "div":
      return `${printPrec(x.a, 3, name, minFunction)}/${x.d}`;
    case "mod":
      return `${printPrec(x.a, 3, name, minFunction)}%${x.d}`;
    case "min":
      return `${minFunction}(${printPrec(x.a, 0, name, minFunction)}, ${printPrec(x.b, 0, name, minFunction)})`;
  }
}

function negatedTerm(e: IntExpr): IntExpr | undefined {
  if (e.k === "const" && e.v < 0) return intConst(-e.v);
  if (e.k === "mul" && e.c < 0) return e.c === -1 ? e.a : { k: "mul", a: e.a, c: -e.c };
  return undefined;
}

/**
 * `simplify`, then folds every floor-division and modulo whose dividend stays inside one
 * multiple of the divisor over the given ranges: with 0 <= i < 16, (2*j*16 + i)/16 is
 * 2*j and (2*j*16 + i)%16 is i. Lowering applies it to accesses so a fused or split loop
 * indexes a tiled tensor linearly (and can be vectorized along it).
 */
export function simplifyInRanges(e: IntExpr, ranges: ReadonlyMap<string, Interval>): IntExpr {
  const simple = simplify(e);
  const lin = toLinear(simple);
  // Most accesses are affine already: nothing to fold, nothing to rebuild.
  if (![...lin.terms.values()].some(({ atom }) => atom.k === "div" || atom.k === "mod"))
    return simple;
  let out: IntExpr = intConst(lin.c);
  for (const { atom, coef } of lin.terms.values()) {
    const folded = atom.k === "div" || atom.k === "mod" ? foldInRanges(atom, ranges) : atom;
    out = add(out, mul(folded, coef));
  }
  return out;
}

function foldInRanges(
  atom: Extract<IntExpr, { k: "div" | "mod" }>,
  ranges: ReadonlyMap<string, Interval>,
): IntExpr {
  const inner = simplifyInRanges(atom.a, ranges);
  const kept = simplify({ k: atom.k, a: inner, d: atom.d });
  // Whole multiples came out as terms of their own: fold what stays divided.
  if (kept.k !== "div" && kept.k !== "mod") return simplifyInRanges(kept, ranges);
  if (![...freeVars(kept.a)].every((v) => ranges.has(v))) return kept;
  const iv = intervalOf(kept.a, ranges);
  const q = Math.floor(iv.lo / atom.d);
  if (Math.floor(iv.hi / atom.d) !== q) return kept;
  return atom.k === "div" ? intConst(q) : sub(kept.a, q * atom.d);
}
