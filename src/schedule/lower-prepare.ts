/**
 * Lowering of `prepare`: a weight is re-laid once, before the kernel runs, into the
 * layout that `pack` would give its panels, all panels concatenated: one dimension per
 * loop of the stage that indexes the weight, in nest order. The kernel then reads the
 * prepared buffer at the loop variables themselves, with no copy in the timed code.
 */
import { freeVars, intVar, type IntExpr } from "../ir/int-expr.ts";
import type { BufferDecl, Stmt } from "../ir/loop-nest.ts";
import type { Expr } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { buildNest, inBoundsGuards, type NestLoop } from "./nest-builder.ts";

/**
 * Padding (tails of non-dividing splits) and repetition (loops indexing the weight
 * non-injectively) may grow the prepared copy; past twice the weight it is refused.
 */
const MAX_GROWTH = 2;
/** Small weights (norm scales, biases) may always be padded to a few vectors. */
const GROWTH_SLACK_FLOATS = 4096;

export interface PreparedWeight {
  readonly buffer: BufferDecl;
  /** Fills the buffer from the weight, padding with zeros: run once, before the kernel. */
  readonly fill: readonly Stmt[];
  /** Where the kernel reads the buffer: the loop variables of its dimensions. */
  readonly index: readonly IntExpr[];
}

export interface PrepareRequest {
  readonly stage: string;
  readonly weight: string;
  readonly weightShape: readonly number[];
  /** The stage's one access pattern of the weight, in its loop variables. */
  readonly access: readonly IntExpr[];
  /** The stage's loops, outermost first. */
  readonly loops: readonly NestLoop[];
  readonly bufferName: string;
}

export function prepareWeight(r: PrepareRequest): PreparedWeight {
  const own = new Set(r.loops.map((l) => l.v));
  const used = new Set(r.access.flatMap((x) => [...freeVars(x)]));
  const foreign = [...used].filter((v) => !own.has(v));
  if (foreign.length > 0) {
    throw new ScheduleError(
      `'${r.weight}' is indexed by loops of another stage (${foreign.join(", ")}); prepare needs a stage computed at the root`,
      r.stage,
    );
  }
  const layout = r.loops
    .filter((l) => used.has(l.v))
    .map((l) => ({ ...l, kind: "serial" as const }));
  if (layout.length === 0) {
    throw new ScheduleError(`no loop indexes '${r.weight}'; there is nothing to prepare`, r.stage);
  }
  const shape = layout.map((l) => l.extent);
  const floats = shape.reduce((n, d) => n * d, 1);
  const weightFloats = r.weightShape.reduce((n, d) => n * d, 1);
  if (floats > MAX_GROWTH * weightFloats + GROWTH_SLACK_FLOATS) {
    throw new ScheduleError(
      `prepared '${r.weight}' would need ${floats} floats for the weight's ${weightFloats} (at most ${MAX_GROWTH}x): the loops indexing it (${layout.map((l) => l.v).join(", ")}) pad or repeat it too much`,
      r.stage,
    );
  }
  const ranges = new Map(layout.map((l) => [l.v, { lo: 0, hi: l.extent - 1 }]));
  const bounds = inBoundsGuards(r.access, r.weightShape, ranges);
  const index = layout.map((l) => intVar(l.v));
  const store = (value: Expr): Stmt => ({
    k: "store",
    buf: r.bufferName,
    idx: index,
    value,
  });
  const copy = buildNest(layout, bounds, [
    store({ k: "read", tensor: r.weight, idx: [...r.access] }),
  ]);
  // Padding is zeroed so the prepared buffer is fully defined whatever the kernel reads.
  const fill =
    bounds.length === 0 ? copy : [...buildNest(layout, [], [store({ k: "const", v: 0 })]), ...copy];
  return {
    buffer: { name: r.bufferName, shape, role: "prepared", perThread: false, registers: false },
    fill,
    index,
  };
}
