/**
 * The lowered loop nest: what a scheduled program is before it becomes C.
 * Loop variables are qualified by their stage ("C.io"), so the printed nest tells a
 * reader (or a model) exactly which names transformations refer to.
 */
import type { IntExpr } from "./int-expr.ts";
import { forEachRead, forEachReadInCond, type Cond, type Expr, type Program } from "./program.ts";

export type LoopKind = "serial" | "parallel" | "vector" | "unroll";

/** prepared: a weight re-laid once before the kernel runs, passed to the kernel like an input. */
export type BufferRole = "input" | "output" | "temp" | "pack" | "local" | "prepared";

export interface BufferDecl {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: BufferRole;
  /** Workspace buffers allocated once per thread because they live inside a parallel loop. */
  readonly perThread: boolean;
  /** Local accumulators indexed only by unrolled or vector loops: kept in registers. */
  readonly registers: boolean;
  /** For register locals: lanes of each register (the vector width, or 1 for scalars). */
  readonly lanes?: number;
}

export type Stmt =
  | {
      readonly k: "for";
      readonly v: string;
      /** Static trip count: the loop never runs more often. */
      readonly extent: number;
      /** Actual trip count, min(extent, guards...); equals extent when no guard applies. */
      readonly count: IntExpr;
      readonly kind: LoopKind;
      /** A parallel loop's iterations handed out dynamically in chunks of this many. */
      readonly chunk?: number;
      readonly body: readonly Stmt[];
    }
  | { readonly k: "if"; readonly cond: Cond; readonly body: readonly Stmt[] }
  | {
      readonly k: "store";
      readonly buf: string;
      readonly idx: readonly IntExpr[];
      readonly value: Expr;
      /** Whole-vector stores bypass the caches where the target has such a store. */
      readonly streaming?: boolean;
    }
  /** A hint to fetch the line holding this element into L2 (into L1 with `l1`); never faults. */
  | {
      readonly k: "prefetch";
      readonly tensor: string;
      readonly idx: readonly IntExpr[];
      readonly l1?: boolean;
    }
  /** Declares a workspace or local buffer at this point of the nest. */
  | { readonly k: "alloc"; readonly buf: string }
  | { readonly k: "comment"; readonly text: string };

export interface LoweredProgram {
  readonly program: Program;
  readonly buffers: readonly BufferDecl[];
  readonly body: readonly Stmt[];
  /** Fills the prepared buffers from the weights: run once, before (and apart from) the body. */
  readonly prepare: readonly Stmt[];
}

/** Tensors a list of statements reads, in first-read order. */
export function tensorsRead(stmts: readonly Stmt[]): string[] {
  const names = new Set<string>();
  const walk = (list: readonly Stmt[]) => {
    for (const s of list) {
      if (s.k === "store") forEachRead(s.value, (r) => names.add(r.tensor));
      else if (s.k === "if") {
        forEachReadInCond(s.cond, (r) => names.add(r.tensor), false);
        walk(s.body);
      } else if (s.k === "for") walk(s.body);
    }
  };
  walk(stmts);
  return [...names];
}
