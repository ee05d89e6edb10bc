/**
 * What lowering one stage shares with the parts that lower its operands: the program's
 * buffers, the loop ranges outside it, and the statements attached between its loops.
 */
import type { IntExpr, Interval } from "../ir/int-expr.ts";
import type { BufferDecl, Stmt } from "../ir/loop-nest.ts";
import type { Program } from "../ir/program.ts";
import type { ScheduleState } from "./state.ts";

/** The box of a producer's output that a compute_at region computes. */
export interface Region {
  readonly buffer: string;
  readonly lo: readonly IntExpr[];
  readonly spans: readonly number[];
}

export interface LowerCtx {
  readonly state: ScheduleState;
  readonly program: Program;
  readonly buffers: BufferDecl[];
  /** Statements filling prepared weights, run once before the kernel body. */
  readonly prepare: Stmt[];
  readonly ranges: ReadonlyMap<string, Interval>;
  readonly inParallel: boolean;
  /** Region buffers of the compute_at chain being lowered, by the producer they hold. */
  readonly chain: ReadonlyMap<string, Region>;
}

export function freshBufferName(ctx: LowerCtx, base: string): string {
  const taken = new Set([
    ...ctx.buffers.map((b) => b.name),
    ...ctx.program.inputs.map((t) => t.name),
    ...ctx.program.stages.map((s) => s.name),
  ]);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  return name;
}

/** Statements placed before (or after) the body of the loop at each depth. */
export class Attachments {
  readonly pre = new Map<number, Stmt[]>();
  readonly post = new Map<number, Stmt[]>();

  attach(depth: number, stmts: readonly Stmt[], after = false): void {
    const m = after ? this.post : this.pre;
    m.set(depth, [...(m.get(depth) ?? []), ...stmts]);
  }
}
