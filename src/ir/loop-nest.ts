/**
 * The lowered loop nest: what a scheduled program is before it becomes C.
 * Loop variables are qualified by their stage ("C.io"), so the printed nest tells a
 * reader (or a model) exactly which names transformations refer to.
 */
import type { IntExpr } from "./int-expr.ts";
import type { Cond, Expr, Program } from "./program.ts";

export type LoopKind = "serial" | "parallel" | "vector" | "unroll";

export type BufferRole = "input" | "output" | "temp" | "pack" | "local";

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
      readonly body: readonly Stmt[];
    }
  | { readonly k: "if"; readonly cond: Cond; readonly body: readonly Stmt[] }
  | {
      readonly k: "store";
      readonly buf: string;
      readonly idx: readonly IntExpr[];
      readonly value: Expr;
    }
  /** Declares a workspace or local buffer at this point of the nest. */
  | { readonly k: "alloc"; readonly buf: string }
  | { readonly k: "comment"; readonly text: string };

export interface LoweredProgram {
  readonly program: Program;
  readonly buffers: readonly BufferDecl[];
  readonly body: readonly Stmt[];
}
