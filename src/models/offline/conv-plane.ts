/**
 * The convolution recipe for small output planes: one output channel's whole plane in
 * registers (the register tile), the input channels outermost around the output channels.
 * Each input channel's padded plane then stays in L1 while every output channel's tile
 * reads it, instead of every input plane streaming from L2 once per output channel; the
 * tile's accumulators are loaded and stored once per input channel. The kernel-row loop is
 * unrolled. flux-conv at `medium` (8 x 8 planes, 384 channels): searches ended on this
 * program at about 1.60 ms or on others at about 1.80 ms (AMD EPYC Zen 5, 1 thread), as it
 * took two single moves in a row (`unroll conv.ry`, `reorder conv c o`), the second of
 * which the cost model ranks alone as a loss. Larger planes take the implicit-GEMM recipe
 * (`conv-gemm.ts`).
 */
import type { Schedule } from "../../schedule/schedule.ts";
import type { StageState } from "../../schedule/state.ts";
import { stageDefinition } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import {
  applyAll,
  prepareWeights,
  registerTile,
  type AppliedRecipe,
  type TileChoice,
} from "./recipes.ts";

/** Kernel rows worth unrolling inside the tile (3 for a 3x3 kernel). */
const MAX_UNROLLED_KERNEL_ROWS = 8;

/** The plane-tile recipe, as it is and with the weight prepared; none if it does not apply. */
export function convPlaneChannelsOuter(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe[] {
  const stage = stageDefinition(schedule.state.program, st.name);
  // A convolution reduces over input channels and kernel offsets; a GEMM over one axis.
  if (stage.reduceAxes.length < 2) return [];
  // The plane is the tile, whatever the drawn shape's rows, if it has as many accumulators.
  const spatial = st.loops.filter((l) => !l.reduce).map((l) => l.name);
  const [rows, cols] = spatial.slice(-2).map((n) => stage.axes.find((a) => a.name === n)?.extent);
  if (rows === undefined || cols === undefined) return [];
  const width = [c.width, ...c.widths].find((w) => w <= cols);
  if (!width || rows * Math.ceil(cols / width) > c.mr * (c.nr / c.width)) return [];
  const tile = registerTile(schedule, st, { ...c, mr: rows, nr: cols });
  const tiled = tile?.schedule.state.stages.find((x) => x.name === st.name);
  if (!tile || !tiled) return [];
  const first = tiled.loops.findIndex((l) => l.reduce);
  const outer = tiled.loops.slice(0, first);
  // The tile is the whole plane: no loop outside the reductions walks tiles of it.
  const axes = new Set(stage.axes.map((a) => a.name));
  if (outer.length === 0 || !outer.every((l) => axes.has(l.name))) return [];
  const [channels, kernelRows] = [tiled.loops[first], tiled.loops[first + 1]];
  const steps: Transform[] = [
    { kind: "reorder", stage: st.name, loops: [channels.name, outer[outer.length - 1].name] },
  ];
  const offsets = stage.reduceAxes.find((a) => a.name === kernelRows?.name)?.extent ?? 0;
  if (kernelRows?.reduce && offsets >= 2 && offsets <= MAX_UNROLLED_KERNEL_ROWS)
    steps.push({ kind: "unroll", stage: st.name, loop: kernelRows.name });
  const name = `${tile.name}, ${channels.name} outside ${outer[outer.length - 1].name}`;
  const outside = applyAll(tile.schedule, name, steps);
  if (!outside) return [];
  const plain = { name, schedule: outside.schedule, steps: [...tile.steps, ...steps] };
  const reordered = outside.schedule.state.stages.find((x) => x.name === st.name)!;
  const prepared = prepareWeights(outside.schedule, reordered);
  return prepared
    ? [
        plain,
        {
          name: `${name}, weights prepared`,
          schedule: prepared.schedule,
          steps: [...plain.steps, ...prepared.steps],
        },
      ]
    : [plain];
}
