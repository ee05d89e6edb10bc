/**
 * `skip_masked`: where a mask (a select on an index comparison, as attention's causal
 * `t <= s`) makes a stage's work void, the stage's loops skip it. Void means: for a
 * reduction, an iteration whose body is the combiner's identity there (a masked logit is
 * -inf, its exp 0, its probability 0, its P·V term 0); for an element-wise stage, a point
 * that every reader reads only in the branch of a select the mask does not take (scores
 * under the mask). Values the analysis cannot evaluate are assumed finite, divisors
 * nonzero; verification checks the result like any schedule's.
 */
import {
  freeVars,
  intConst,
  intervalOf,
  printInt,
  simplify,
  add,
  intVar,
  mul,
  substitute,
  toLinear,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import {
  forEachRead,
  identityOf,
  mapExpr,
  type Cond,
  type Expr,
  type Program,
} from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { effectiveConsumers } from "./consumers.ts";
import { stageDefinition, type ScheduleState } from "./state.ts";
import type { Guard, NestLoop } from "./nest-builder.ts";

type Icmp = Extract<Cond, { k: "icmp" }>;

/** The mask of a stage, in its axis names: its work is void where `keep` is false. */
export interface Mask {
  readonly keep: Icmp;
}

/** A stage's body with the bodies of inlined stages substituted for their reads. */
function inlinedBody(state: ScheduleState, stage: string): Expr {
  const inline = (e: Expr): Expr =>
    mapExpr(e, (r) => {
      if (state.stages.find((s) => s.name === r.tensor)?.placement.k !== "inline") return r;
      const producer = stageDefinition(state.program, r.tensor);
      const env = new Map(producer.axes.map((a, d) => [a.name, r.idx[d]]));
      return inline(
        mapExpr(
          producer.body,
          (x) => x,
          (i) => substitute(i, env),
        ),
      );
    });
  return inline(stageDefinition(state.program, stage).body);
}

const condKey = (c: Icmp) => `${printInt(simplify(c.a))} ${c.op} ${printInt(simplify(c.b))}`;

/** A producer's condition, moved to the reader's indices. */
function transfer(program: Program, producer: string, keep: Icmp, idx: readonly IntExpr[]): Icmp {
  const env = new Map(stageDefinition(program, producer).axes.map((a, d) => [a.name, idx[d]]));
  return { ...keep, a: substitute(keep.a, env), b: substitute(keep.b, env) };
}

/**
 * The value a stage's output takes where its mask is false, when the analysis can tell:
 * the mask must be a property of the output's points (its spatial axes only), and a
 * reduction's terms must be the identity there (then so is the result).
 */
function maskedValue(
  state: ScheduleState,
  stage: string,
): { keep: Icmp; value: number } | undefined {
  const def = stageDefinition(state.program, stage);
  const body = inlinedBody(state, stage);
  const axes = new Set(def.axes.map((a) => a.name));
  for (const keep of candidateMasks(state, body)) {
    if (![...freeVars(keep.a), ...freeVars(keep.b)].every((v) => axes.has(v))) continue;
    const value = valueWhereMasked(state, body, keep);
    if (value === null) continue;
    if (def.combiner && value !== identityOf(def.combiner)) continue;
    return { keep, value };
  }
  return undefined;
}

/** Index comparisons in the body's selects, and the masks of the stages it reads. */
function candidateMasks(state: ScheduleState, body: Expr): Icmp[] {
  const out: Icmp[] = [];
  const visit = (e: Expr) => {
    if (e.k === "select") {
      if (e.cond.k === "icmp") out.push(e.cond);
      visit(e.a);
      visit(e.b);
    } else if (e.k === "bin") {
      visit(e.a);
      visit(e.b);
    } else if (e.k === "un") visit(e.a);
  };
  visit(body);
  forEachRead(body, (r) => {
    if (!state.program.stages.some((s) => s.name === r.tensor)) return;
    const m = maskedValue(state, r.tensor);
    if (m) out.push(transfer(state.program, r.tensor, m.keep, r.idx));
  });
  return out;
}

/** The expression's value where `keep` is false: a constant, or null when unknown (finite). */
function valueWhereMasked(state: ScheduleState, e: Expr, keep: Icmp): number | null {
  const key = condKey(keep);
  const go = (x: Expr): number | null => {
    switch (x.k) {
      case "const":
        return x.v;
      case "read": {
        if (!state.program.stages.some((s) => s.name === x.tensor)) return null;
        const m = maskedValue(state, x.tensor);
        if (!m) return null;
        return condKey(transfer(state.program, x.tensor, m.keep, x.idx)) === key ? m.value : null;
      }
      case "select": {
        if (x.cond.k === "icmp" && condKey(x.cond) === key) return go(x.b);
        const [a, b] = [go(x.a), go(x.b)];
        return a !== null && a === b ? a : null;
      }
      case "un": {
        const a = go(x.a);
        if (a === null) return null;
        if (x.op === "exp") return Math.exp(a);
        if (x.op === "neg") return -a;
        return null;
      }
      case "bin":
        return binary(x.op, go(x.a), go(x.b));
    }
  };
  return go(e);
}

/** Arithmetic with unknown (finite, nonzero where divided by) operands. */
function binary(op: string, a: number | null, b: number | null): number | null {
  if (a !== null && b !== null) {
    const v =
      op === "+"
        ? a + b
        : op === "-"
          ? a - b
          : op === "*"
            ? a * b
            : op === "/"
              ? a / b
              : op === "max"
                ? Math.max(a, b)
                : Math.min(a, b);
    return Number.isNaN(v) ? null : v;
  }
  const known = a ?? b;
  if (known === null) return null;
  const infinite = Math.abs(known) === Infinity;
  if ((op === "+" || op === "-") && infinite) return op === "-" && b !== null ? -known : known;
  if (op === "*" && known === 0) return 0;
  if (op === "/" && a === 0) return 0;
  return null;
}

/** Whether every read of `stage` by its readers sits in a select branch that `keep` guards. */
function readOnlyWhereKept(state: ScheduleState, stage: string, keep: Icmp): boolean {
  return effectiveConsumers(state, stage).every((c) => {
    let ok = true;
    walkGuarded(inlinedBody(state, c), [], (read, guards) => {
      if (read.tensor !== stage) return;
      const needed = condKey(transfer(state.program, stage, keep, read.idx));
      ok &&= guards.some((g) => condKey(g) === needed);
    });
    return ok;
  });
}

/** Visits every read with the index comparisons of the select branches it sits in. */
function walkGuarded(
  e: Expr,
  guards: readonly Icmp[],
  visit: (read: Extract<Expr, { k: "read" }>, guards: readonly Icmp[]) => void,
): void {
  if (e.k === "read") visit(e, guards);
  else if (e.k === "select") {
    walkGuarded(e.a, e.cond.k === "icmp" ? [...guards, e.cond] : guards, visit);
    walkGuarded(e.b, guards, visit);
  } else if (e.k === "bin") {
    walkGuarded(e.a, guards, visit);
    walkGuarded(e.b, guards, visit);
  } else if (e.k === "un") walkGuarded(e.a, guards, visit);
}

/** The mask a stage may skip, or a refusal saying why it has none. */
export function maskToSkip(state: ScheduleState, stage: string): Mask {
  const def = stageDefinition(state.program, stage);
  if (def.combiner) {
    const body = inlinedBody(state, stage);
    const identity = identityOf(def.combiner);
    const names = new Set([...def.axes, ...def.reduceAxes].map((a) => a.name));
    for (const keep of candidateMasks(state, body)) {
      if (![...freeVars(keep.a), ...freeVars(keep.b)].every((v) => names.has(v))) continue;
      if (valueWhereMasked(state, body, keep) === identity) return { keep };
    }
  }
  if (!state.program.outputs.includes(stage)) {
    for (const keep of readerMasks(state, stage)) {
      if (readOnlyWhereKept(state, stage, keep)) return { keep };
    }
  }
  throw new ScheduleError(
    "no mask voids any of its work: its reduction's terms are not the identity where a mask is false, " +
      "and some reader uses its values where no mask hides them (skip_masked needs a masked input, as attention's causal logits)",
    stage,
  );
}

/**
 * Masks under which readers read a stage, moved to the stage's own axes (reads whose
 * indices are plain loop variables of the reader carry the comparison back by renaming).
 */
function readerMasks(state: ScheduleState, stage: string): Icmp[] {
  const def = stageDefinition(state.program, stage);
  const names = new Set(def.axes.map((a) => a.name));
  const out: Icmp[] = [];
  for (const c of effectiveConsumers(state, stage)) {
    walkGuarded(inlinedBody(state, c), [], (read, guards) => {
      if (read.tensor !== stage) return;
      const rename = new Map<string, IntExpr>();
      read.idx.forEach((x, d) => {
        if (x.k === "var") rename.set(x.name, intVar(def.axes[d].name));
      });
      for (const g of guards) {
        const moved = { ...g, a: substitute(g.a, rename), b: substitute(g.b, rename) };
        if ([...freeVars(moved.a), ...freeVars(moved.b)].every((v) => names.has(v)))
          out.push(moved);
      }
    });
  }
  return out;
}

/**
 * The guard that skips the void part of a stage's loops, at the outermost loop the masked
 * comparison's left side depends on: `min(lhs) < max(rhs)` over the loops inside it, so
 * an iteration of that loop runs when any point inside it is kept. Whole key blocks past
 * a block's last query are skipped; inside a kept block the mask is computed as before,
 * and the register tiles inside stay free of conditions.
 */
export function maskGuard(
  mask: Mask,
  axisValue: ReadonlyMap<string, IntExpr>,
  loops: readonly NestLoop[],
  ranges: ReadonlyMap<string, Interval>,
): Guard[] {
  const { a, b, op } = mask.keep;
  const at = (x: IntExpr) => simplify(substitute(x, axisValue));
  const one = intConst(1);
  // kept <=> lhs < rhs
  const sides: Partial<Record<string, [IntExpr, IntExpr]>> = {
    "<=": [at(a), add(at(b), one)],
    "<": [at(a), at(b)],
    ">=": [at(b), add(at(a), one)],
    ">": [at(b), at(a)],
  };
  const side = sides[op];
  if (!side) return [];
  const [lhs, rhs] = side;
  const first = loops.findIndex((l) => freeVars(lhs).has(l.v));
  if (first < 0) return [];
  const inner = new Set(loops.slice(first + 1).map((x) => x.v));
  const lo = bound(lhs, inner, ranges, "lo");
  const hi = bound(rhs, inner, ranges, "hi");
  return lo && hi ? [{ lhs: lo, rhs: hi }] : [];
}

/** The expression with the loops in `inner` at their lowest or highest values, if separable. */
function bound(
  e: IntExpr,
  inner: ReadonlySet<string>,
  ranges: ReadonlyMap<string, Interval>,
  side: "lo" | "hi",
): IntExpr | undefined {
  const lin = toLinear(simplify(e));
  let outer: IntExpr = intConst(lin.c);
  let innerPart: IntExpr = intConst(0);
  for (const { atom, coef } of lin.terms.values()) {
    const vars = [...freeVars(atom)];
    const term = mul(atom, coef);
    if (vars.every((v) => !inner.has(v))) outer = add(outer, term);
    else if (vars.every((v) => inner.has(v))) innerPart = add(innerPart, term);
    else return undefined;
  }
  const iv = intervalOf(innerPart, ranges);
  return simplify(add(outer, intConst(side === "lo" ? iv.lo : iv.hi)));
}
