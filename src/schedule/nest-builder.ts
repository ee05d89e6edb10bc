/**
 * Loop nests with guards and statements attached between the loops: the shape every
 * lowered statement (stage bodies, operand copies, weight preparation) is built into.
 */
import {
  coefficientOf,
  freeVars,
  intConst,
  intervalOf,
  intMin,
  intVar,
  mul,
  simplify,
  sub,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import type { LoopKind, Stmt } from "../ir/loop-nest.ts";
import type { Cond } from "../ir/program.ts";

/** `lhs < rhs`, the only guard form lowering needs. */
export interface Guard {
  readonly lhs: IntExpr;
  readonly rhs: IntExpr;
}

export interface NestLoop {
  readonly v: string;
  readonly extent: number;
  readonly kind: LoopKind;
  readonly chunk?: number;
}

/** Guards that keep an index of a tensor of `shape` inside it, where its range may leave it. */
export function inBoundsGuards(
  idx: readonly IntExpr[],
  shape: readonly number[],
  ranges: ReadonlyMap<string, Interval>,
): Guard[] {
  const guards: Guard[] = [];
  idx.forEach((x, d) => {
    const iv = intervalOf(x, ranges);
    if (iv.hi >= shape[d]) guards.push({ lhs: x, rhs: intConst(shape[d]) });
    if (iv.lo < 0) guards.push({ lhs: intConst(-1), rhs: x });
  });
  return guards;
}

/**
 * Builds nested loops with statements attached between them. Each guard is placed at
 * the innermost loop it mentions: as a tighter trip count when that loop appears with
 * coefficient 1, else as an `if` around that loop's body.
 */
export function buildNest(
  loops: readonly NestLoop[],
  guards: readonly Guard[],
  leaf: Stmt[],
  pre: ReadonlyMap<number, Stmt[]> = new Map(),
  post: ReadonlyMap<number, Stmt[]> = new Map(),
): Stmt[] {
  const position = new Map(loops.map((l, i) => [l.v, i]));
  const bounds = new Map<number, IntExpr[]>();
  const ifs = new Map<number, Guard[]>();
  const topIfs: Guard[] = [];
  for (const g of guards) {
    const diff = simplify(sub(g.lhs, g.rhs));
    const at = Math.max(-1, ...[...freeVars(diff)].map((v) => position.get(v) ?? -1));
    if (at < 0) {
      topIfs.push(g);
      continue;
    }
    const v = loops[at].v;
    if (coefficientOf(diff, v) === 1) {
      // v + rest < 0  <=>  v < -rest
      const limit = simplify(mul(sub(diff, intVar(v)), -1));
      bounds.set(at, [...(bounds.get(at) ?? []), limit]);
    } else {
      ifs.set(at, [...(ifs.get(at) ?? []), g]);
    }
  }
  const build = (d: number): Stmt[] => {
    const body: Stmt[] = [...(pre.get(d) ?? [])];
    if (d === loops.length) body.push(...leaf);
    else {
      const l = loops[d];
      let count: IntExpr = intConst(l.extent);
      for (const b of bounds.get(d) ?? []) count = intMin(count, b);
      let inner = build(d + 1);
      const conds = ifs.get(d) ?? [];
      if (conds.length > 0) inner = [{ k: "if", cond: guardCond(conds), body: inner }];
      body.push({
        k: "for",
        v: l.v,
        extent: l.extent,
        count: simplify(count),
        kind: l.kind,
        ...(l.chunk !== undefined ? { chunk: l.chunk } : {}),
        body: inner,
      });
    }
    body.push(...(post.get(d) ?? []));
    return body;
  };
  const nest = build(0);
  return topIfs.length > 0 ? [{ k: "if", cond: guardCond(topIfs), body: nest }] : nest;
}

function guardCond(gs: readonly Guard[]): Cond {
  return gs
    .map((g): Cond => ({ k: "icmp", op: "<", a: g.lhs, b: g.rhs }))
    .reduce((a, b) => ({ k: "and", a, b }));
}
