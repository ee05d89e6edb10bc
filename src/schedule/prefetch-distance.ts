/**
 * How far ahead a prefetch looks: enough steps of the loop it looks ahead along to cover
 * the time a line takes to arrive from memory. One step of a row loop is one row; a short
 * row arrives too late: softmax's 4 KiB rows (AMD EPYC Zen 5 VM, one thread, alternating
 * three times) ran 8.1-9.7 ms prefetched one row ahead, 7.5-8.1 ms two ahead, 7.8-8.1 ms
 * four ahead; rmsnorm's and layernorm's rows of 12-16 KiB need one.
 */
import { tensorShape, type Program } from "../ir/program.ts";
import { loopExtents, stageDefinition, type StageState } from "./state.ts";

/**
 * What a prefetch should cover ahead of the loads it serves: about one core's bandwidth
 * times the memory's latency (50 GB/s x 150 ns).
 */
const PREFETCH_REACH_BYTES = 8 << 10;

/** Beyond this many steps the prefetched lines may be evicted before they are read. */
const MAX_STEPS_AHEAD = 4;

/**
 * The distance, in steps of `ahead` (one of the stage's loops), of a prefetch of `tensor`:
 * PREFETCH_REACH_BYTES over the bytes of the tensor one step covers, taken as the tensor
 * shared evenly between the iterations of `ahead` and the loops around it (row operators'
 * loops: the rows, split into blocks or parts), between 1 and MAX_STEPS_AHEAD.
 */
export function prefetchDistance(
  program: Program,
  st: StageState,
  tensor: string,
  ahead: string,
): number {
  const stage = stageDefinition(program, st.name);
  const extents = loopExtents(st, new Map(stage.axes.map((a) => [a.name, a.extent])));
  const upTo = st.loops.slice(0, st.loops.findIndex((l) => l.name === ahead) + 1);
  const steps = upTo.reduce((n, l) => n * (extents.get(l.name) ?? 1), 1);
  const bytesPerStep = tensorShape(program, tensor).reduce((n, d) => n * d, 4) / steps;
  return Math.max(1, Math.min(MAX_STEPS_AHEAD, Math.ceil(PREFETCH_REACH_BYTES / bytesPerStep)));
}
