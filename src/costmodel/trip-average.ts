/**
 * Trip counts averaged analytically: a guarded loop's count and an `if`'s pass rate,
 * by enumerating the few enclosing loops they depend on (or from intervals when there
 * are too many).
 */
import { evalInt, freeVars, simplify, sub, toLinear, type Interval } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import type { Cond } from "../ir/program.ts";
import { safeInterval } from "./access-strides.ts";

type ForStmt = Extract<Stmt, { k: "for" }>;

/** Largest enumeration used to average a guarded trip count or an `if` condition. */
const MAX_ENUMERATION = 2048;

export interface LoopFrame {
  readonly v: string;
  readonly extent: number;
}

export interface TripStats {
  readonly avg: number;
  /** Fraction of executions that run the full static extent. */
  readonly full: number;
  readonly constant: boolean;
}

/** Average trip count of a loop over the iterations of the loops its count depends on. */
export function averageTrip(s: ForStmt, path: readonly LoopFrame[]): TripStats {
  const clamp = (v: number) => Math.min(Math.max(v, 0), s.extent);
  if (s.count.k === "const") {
    const c = clamp(s.count.v);
    return { avg: c, full: c >= s.extent ? 1 : 0, constant: true };
  }
  const count = s.count;
  const r = enumerateMean(freeVars(count), path, (env) => {
    const c = clamp(evalInt(count, env));
    return [c, c >= s.extent ? 1 : 0];
  });
  if (r) return { avg: r[0], full: r[1], constant: false };
  const iv = safeInterval(count, rangesOf(path));
  if (!iv) return { avg: s.extent, full: 1, constant: false };
  const lo = clamp(iv.lo);
  const hi = clamp(iv.hi);
  return {
    avg: (lo + hi) / 2,
    full: lo >= s.extent ? 1 : hi >= s.extent ? 0.5 : 0,
    constant: false,
  };
}

/** Fraction of executions passing an `if` (1 when data-dependent or too costly to count). */
export function condFraction(c: Cond, path: readonly LoopFrame[]): number {
  const vars = new Set<string>();
  let dataDependent = false;
  const collect = (x: Cond) => {
    if (x.k === "icmp") {
      freeVars(x.a, vars);
      freeVars(x.b, vars);
    } else if (x.k === "fcmp") dataDependent = true;
    else {
      collect(x.a);
      collect(x.b);
    }
  };
  collect(c);
  if (dataDependent) return 1;
  const r = enumerateMean(vars, path, (env) => [evalCond(c, env) ? 1 : 0]);
  return r ? r[0] : (oneLoopFraction(c, path) ?? 1);
}

/**
 * The pass rate of bounds on one loop variable (`v == 0`, `v >= 1 and v < n`: a pipelined
 * loop's first, steady and last steps), counted from the bounds however long the loop.
 */
function oneLoopFraction(c: Cond, path: readonly LoopFrame[]): number | undefined {
  const atoms: Extract<Cond, { k: "icmp" }>[] = [];
  const collect = (x: Cond): boolean => {
    if (x.k === "icmp") atoms.push(x);
    else if (x.k === "and") return collect(x.a) && collect(x.b);
    else return false;
    return true;
  };
  if (!collect(c)) return undefined;
  let v: string | undefined;
  let lo = 0;
  let hi = Infinity;
  for (const a of atoms) {
    // coef * v + k  op  0
    const lin = toLinear(simplify(sub(a.a, a.b)));
    const [term, ...others] = [...lin.terms.values()];
    if (!term || others.length > 0 || term.atom.k !== "var" || Math.abs(term.coef) !== 1)
      return undefined;
    if (v !== undefined && term.atom.name !== v) return undefined;
    v = term.atom.name;
    const bound = -lin.c * term.coef;
    const op = term.coef > 0 ? a.op : FLIPPED[a.op];
    if (op === "!=") return undefined;
    if (op === "<" || op === "<=" || op === "==") hi = Math.min(hi, op === "<" ? bound - 1 : bound);
    if (op === ">" || op === ">=" || op === "==") lo = Math.max(lo, op === ">" ? bound + 1 : bound);
  }
  const frame = v === undefined ? undefined : findFrame(path, v);
  if (!frame) return undefined;
  return Math.max(0, Math.min(hi, frame.extent - 1) - lo + 1) / frame.extent;
}

const FLIPPED = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=" } as const;

function evalCond(c: Cond, env: ReadonlyMap<string, number>): boolean {
  switch (c.k) {
    case "icmp": {
      const a = evalInt(c.a, env);
      const b = evalInt(c.b, env);
      switch (c.op) {
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        case ">=":
          return a >= b;
        case "==":
          return a === b;
        case "!=":
          return a !== b;
      }
      return true;
    }
    case "fcmp":
      return true;
    case "and":
      return evalCond(c.a, env) && evalCond(c.b, env);
    case "or":
      return evalCond(c.a, env) || evalCond(c.b, env);
  }
}

/**
 * Mean of `fn` over every combination of the enclosing loops named in `vars`, or
 * undefined when a variable is unknown or there are too many combinations.
 */
function enumerateMean(
  vars: ReadonlySet<string>,
  path: readonly LoopFrame[],
  fn: (env: ReadonlyMap<string, number>) => number[],
): number[] | undefined {
  const frames: LoopFrame[] = [];
  let total = 1;
  for (const v of vars) {
    const f = findFrame(path, v);
    if (!f) return undefined;
    frames.push(f);
    total *= f.extent;
    if (total > MAX_ENUMERATION) return undefined;
  }
  const env = new Map<string, number>(frames.map((f) => [f.v, 0]));
  let sums: number[] | undefined;
  for (let n = 0; n < total; n++) {
    let rest = n;
    for (const f of frames) {
      env.set(f.v, rest % f.extent);
      rest = Math.floor(rest / f.extent);
    }
    const r = fn(env);
    if (!sums) sums = r.slice();
    else for (let i = 0; i < r.length; i++) sums[i] += r[i];
  }
  return sums?.map((x) => x / total);
}

function findFrame(path: readonly LoopFrame[], v: string): LoopFrame | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (path[i].v === v) return path[i];
  return undefined;
}

export function rangesOf(path: readonly LoopFrame[]): Map<string, Interval> {
  return new Map(path.map((f) => [f.v, { lo: 0, hi: f.extent - 1 }]));
}
