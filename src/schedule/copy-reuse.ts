/**
 * Whether a copy of an operand (`pack`, `cache_read`) at a loop can pay for itself. A copy
 * reads every element of its tile once and the stage then reads the copy: that only pays
 * when an element is read again inside the loop (a loop there that does not index the
 * operand: matmul's A block across the column panels) or when the copy changes the layout
 * the innermost loop sees (a strided or transposed read made contiguous). A tile read once,
 * already contiguous, is a store and a load per element for nothing: softmax at paper size
 * ran 4-7% slower with its row maximum reading X through such a 16-float tile, and tuned
 * schedules kept several (rmsnorm's sum of squares, the MLP's `act`), drawn by noise.
 */
import { freeVars, type IntExpr } from "../ir/int-expr.ts";
import { forEachRead, tensorShape, type Program } from "../ir/program.ts";
import { strideAlong } from "../ir/strides.ts";
import { stageDefinition, type StageState } from "./state.ts";

/** The program axes a loop of `st` runs over (a split's pieces their parent's, a fused loop both). */
function axesOfLoop(st: StageState, loop: string): Set<string> {
  for (const r of st.relations) {
    if (r.k === "split" && (r.outer === loop || r.inner === loop)) return axesOfLoop(st, r.parent);
    if (r.k === "fuse" && r.fused === loop)
      return new Set([...axesOfLoop(st, r.outer), ...axesOfLoop(st, r.inner)]);
  }
  return new Set([loop]);
}

/** True when a copy of `tensor` at loop `at` of `st` could not be faster than reading it in place. */
export function copyBuysNothing(
  program: Program,
  st: StageState,
  tensor: string,
  at: string,
): boolean {
  const reads: (readonly IntExpr[])[] = [];
  forEachRead(stageDefinition(program, st.name).body, (r) => {
    if (r.tensor === tensor) reads.push(r.idx);
  });
  if (reads.length === 0) return false;
  const pos = st.loops.findIndex((l) => l.name === at);
  const indexed = new Set(reads.flatMap((idx) => idx.flatMap((x) => [...freeVars(x)])));
  const reread = st.loops
    .slice(pos + 1)
    .some((l) => [...axesOfLoop(st, l.name)].every((a) => !indexed.has(a)));
  if (reread) return false;
  const innermost = axesOfLoop(st, st.loops[st.loops.length - 1].name);
  if (innermost.size !== 1) return false;
  const [axis] = innermost;
  const shape = tensorShape(program, tensor);
  return reads.every((idx) => strideAlong(idx, shape, axis) === 1);
}
