/**
 * `pipeline S.L` at lowering: software pipelining of a loop whose body first computes
 * producers (compute_at S.L) and then runs S's own loop over them. Iteration L runs the
 * producers of step L together with S's loop of step L-1, fused into the producers' loop of
 * the same trip count, so the work of one step hides the memory traffic of the other (a
 * softmax row's exps are computed while the row before is written out). The regions S reads
 * of its producers are double-buffered by the parity of L, so step L never overwrites what
 * step L-1 still reads.
 */
import {
  add,
  intConst,
  intVar,
  mod,
  printInt,
  sub,
  substitute,
  type IntExpr,
} from "../ir/int-expr.ts";
import { tensorsRead, type BufferDecl, type Stmt } from "../ir/loop-nest.ts";
import { mapExpr, type Cond, type Expr } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";

type For = Extract<Stmt, { k: "for" }>;

/**
 * Rewrites the loop `stage.loop` in `nest`; `buffers` is updated in place (each
 * double-buffered region gains a leading dimension of 2).
 */
export function pipelineLoop(
  nest: readonly Stmt[],
  stage: string,
  loop: string,
  output: string,
  buffers: BufferDecl[],
): Stmt[] {
  const v = `${stage}.${loop}`;
  const fail = (reason: string): never => {
    throw new ScheduleError(`cannot pipeline: ${reason}`, stage, loop);
  };
  let found = false;
  const rewrite = (stmts: readonly Stmt[]): Stmt[] =>
    stmts.flatMap((s): Stmt[] => {
      if (s.k === "for" && s.v === v) {
        found = true;
        return pipelined(s, output, buffers, fail);
      }
      if (s.k === "for") return [{ ...s, body: rewrite(s.body) }];
      if (s.k === "if") return [{ ...s, body: rewrite(s.body) }];
      return [s];
    });
  const out = rewrite(nest);
  if (!found) fail("the loop is not in the stage's nest (a producer's region replaced it?)");
  return out;
}

function pipelined(
  f: For,
  output: string,
  buffers: BufferDecl[],
  fail: (reason: string) => never,
): Stmt[] {
  const backAt = f.body.findIndex((s) => writes(s, output));
  if (backAt < 0) fail("the loop body does not write the output");
  const front = f.body.slice(0, backAt);
  const back = f.body.slice(backAt);
  if (!front.some((s) => s.k === "for")) {
    fail(
      "nothing is computed at this loop before the stage's own work (compute_at a producer here)",
    );
  }
  const written = new Set<string>();
  for (const s of front) storesOf(s, written);
  if (tensorsRead(front).includes(output)) fail("the producers read the stage's own output");
  const doubled = tensorsRead(back).filter((b) => written.has(b));
  for (const name of doubled) {
    const decl = buffers.find((b) => b.name === name)!;
    if (decl.role !== "temp") {
      fail(
        `the stage reads ${name}, a ${decl.registers ? "register" : decl.role} buffer of the producers; only workspace regions can be double-buffered`,
      );
    }
    buffers[buffers.indexOf(decl)] = { ...decl, shape: [2, ...decl.shape] };
  }
  // The regions live across steps now: declared once, before the loop.
  const declared: Stmt[] = [];
  const undeclared = withoutAllocs(front, doubled, declared);
  const step = intVar(f.v);
  const n = f.count;
  const parity = (at: IntExpr) => mod(at, 2);
  const frontNow = undeclared.map((s) => mapStmt(s, doubled, parity(step), new Map()));
  const previous = new Map([[f.v, sub(step, 1)]]);
  const backBefore = back.map((s) => mapStmt(s, doubled, parity(sub(step, 1)), previous));
  const overlapped =
    fuse(frontNow, backBefore) ??
    fail(
      "no loop of the producers has as many steps as the stage's own loop; split them alike so the two can run as one loop",
    );
  const icmp = (op: "<" | ">=" | "==", b: IntExpr): Cond => ({ k: "icmp", op, a: step, b });
  const first: Cond = { k: "and", a: icmp("==", intConst(0)), b: icmp("<", n) };
  const steady: Cond = { k: "and", a: icmp(">=", intConst(1)), b: icmp("<", n) };
  const loop: Stmt = {
    ...f,
    extent: f.extent + 1,
    count: add(n, 1),
    body: [
      { k: "if", cond: first, body: frontNow },
      { k: "if", cond: steady, body: overlapped },
      {
        k: "if",
        cond: { k: "and", a: icmp("==", n), b: icmp(">=", intConst(1)) },
        body: backBefore,
      },
    ],
  };
  return [...declared, loop];
}

/** `stmts` without the declarations of `names`, which are collected into `into`. */
function withoutAllocs(stmts: readonly Stmt[], names: readonly string[], into: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (const s of stmts) {
    if (s.k === "alloc" && names.includes(s.buf)) into.push(s);
    else if (s.k === "for" || s.k === "if")
      out.push({ ...s, body: withoutAllocs(s.body, names, into) });
    else out.push(s);
  }
  return out;
}

/**
 * The front with the back's single loop fused into the front loop of the same trip count
 * that does the most arithmetic (softmax's exps, whose exp work hides the stores), found
 * through the producers' one-step region loops; undefined where none matches.
 */
function fuse(front: readonly Stmt[], back: readonly Stmt[]): Stmt[] | undefined {
  const loop = back.length === 1 && back[0].k === "for" ? back[0] : undefined;
  if (!loop || loop.kind !== "serial") return undefined;
  const candidates: For[] = [];
  const find = (stmts: readonly Stmt[]) => {
    for (const s of stmts) {
      if (s.k !== "for") continue;
      const sameSteps =
        s.kind === "serial" &&
        s.extent === loop.extent &&
        printInt(s.count) === printInt(loop.count);
      if (sameSteps) candidates.push(s);
      // A producer's region loop of one step: its guard only ends it past the last row,
      // and the steady steps are all inside.
      else if (s.extent === 1) find(s.body);
    }
  };
  find(front);
  const host = candidates.reduce<For | undefined>(
    (best, c) => (best && arithmetic(best.body) >= arithmetic(c.body) ? best : c),
    undefined,
  );
  if (!host) return undefined;
  const renamed = new Map([[loop.v, intVar(host.v)]]);
  const moved = loop.body.map((b) => mapStmt(b, [], intConst(0), renamed));
  const into = (stmts: readonly Stmt[]): Stmt[] =>
    stmts.map((s) => {
      if (s === host) return { ...host, body: [...host.body, ...moved] };
      return s.k === "for" && s.extent === 1 ? { ...s, body: into(s.body) } : s;
    });
  return into(front);
}

/** Operations stored by `stmts` per step, a function (exp, sqrt) counted as ten. */
function arithmetic(stmts: readonly Stmt[]): number {
  const ofExpr = (e: Expr): number => {
    switch (e.k) {
      case "bin":
        return 1 + ofExpr(e.a) + ofExpr(e.b);
      case "un":
        return (e.op === "neg" || e.op === "abs" ? 1 : 10) + ofExpr(e.a);
      case "select":
        return 1 + ofExpr(e.a) + ofExpr(e.b);
      default:
        return 0;
    }
  };
  let n = 0;
  for (const s of stmts) {
    if (s.k === "store") n += ofExpr(s.value);
    else if (s.k === "for" || s.k === "if") n += arithmetic(s.body);
  }
  return n;
}

function writes(s: Stmt, buf: string): boolean {
  const names = new Set<string>();
  storesOf(s, names);
  return names.has(buf);
}

function storesOf(s: Stmt, into: Set<string>): void {
  if (s.k === "store") into.add(s.buf);
  else if (s.k === "for" || s.k === "if") for (const b of s.body) storesOf(b, into);
}

/**
 * Substitutes loop variables (`env`) in every index and trip count, and prefixes every
 * access of a `doubled` buffer with `half`.
 */
function mapStmt(
  s: Stmt,
  doubled: readonly string[],
  half: IntExpr,
  env: ReadonlyMap<string, IntExpr>,
): Stmt {
  const idx = (i: IntExpr) => substitute(i, env);
  const expr = (e: Expr): Expr =>
    mapExpr(e, (r) => (doubled.includes(r.tensor) ? { ...r, idx: [half, ...r.idx] } : r), idx);
  const cond = (c: Cond): Cond => {
    switch (c.k) {
      case "icmp":
        return { ...c, a: idx(c.a), b: idx(c.b) };
      case "fcmp":
        return { ...c, a: expr(c.a), b: expr(c.b) };
      default:
        return { ...c, a: cond(c.a), b: cond(c.b) };
    }
  };
  const go = (x: Stmt) => mapStmt(x, doubled, half, env);
  switch (s.k) {
    case "for":
      return { ...s, count: idx(s.count), body: s.body.map(go) };
    case "if":
      return { ...s, cond: cond(s.cond), body: s.body.map(go) };
    case "store":
      return {
        ...s,
        idx: doubled.includes(s.buf) ? [half, ...s.idx.map(idx)] : s.idx.map(idx),
        value: expr(s.value),
      };
    case "prefetch":
      return { ...s, idx: s.idx.map(idx) };
    default:
      return s;
  }
}
