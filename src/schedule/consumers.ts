/**
 * Who reads a stage once inlining is taken into account, and which producers compute_at
 * may place at a consumer loop. A producer may be computed inside `C.l` when every stage
 * that reads it is `C` itself or is also computed at `C.l`: the whole chain (attention's
 * scores -> row statistics -> probabilities) then lives in small buffers inside that loop.
 */
import { forEachRead, type Program } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { consumersOf, stageDefinition, type ScheduleState, type StageState } from "./state.ts";

/** The stages that read `stage`, looking through consumers that are inlined into theirs. */
export function effectiveConsumers(state: ScheduleState, stage: string): string[] {
  const out = new Set<string>();
  for (const c of consumersOf(state.program, stage)) {
    const cst = state.stages.find((s) => s.name === c);
    if (cst?.placement.k === "inline") {
      for (const x of effectiveConsumers(state, c)) out.add(x);
    } else out.add(c);
  }
  return [...out];
}

/** Whether a stage is computed at loop `loop` of `consumer`. */
function computedAt(st: StageState | undefined, consumer: string, loop: string): boolean {
  return (
    st?.placement.k === "at" && st.placement.consumer === consumer && st.placement.loop === loop
  );
}

/**
 * Refuses computing `producer` at `consumer.loop` unless each of its (effective) consumers
 * is `consumer` or computed at that same loop.
 */
export function requireChainAt(
  state: ScheduleState,
  producer: string,
  consumer: string,
  loop: string,
): void {
  const consumers = effectiveConsumers(state, producer);
  const outside = consumers.filter(
    (c) =>
      c !== consumer &&
      !computedAt(
        state.stages.find((s) => s.name === c),
        consumer,
        loop,
      ),
  );
  if (consumers.length === 0 || outside.length > 0) {
    throw new ScheduleError(
      `compute_at needs every consumer of '${producer}' to be ${consumer} or computed at ${consumer}.${loop}; ` +
        `'${producer}' is read by ${consumers.join(", ") || "nobody"} (${outside.join(", ") || "none"} not there); ` +
        `compute the consumers at ${consumer}.${loop} first`,
      producer,
    );
  }
}

/** Producers of `consumer`'s loop `loop` group that may join it: all their readers are in it. */
export function chainCandidates(state: ScheduleState, consumer: string, loop: string): string[] {
  const program: Program = state.program;
  const group = [
    consumer,
    ...state.stages.filter((s) => computedAt(s, consumer, loop)).map((s) => s.name),
  ];
  const producers = new Set(group.flatMap((s) => stagesRead(state, s)));
  return [...producers].filter((p) => {
    const pst = state.stages.find((s) => s.name === p);
    if (!pst || pst.placement.k === "inline" || program.outputs.includes(p)) return false;
    if (computedAt(pst, consumer, loop)) return false;
    const consumers = effectiveConsumers(state, p);
    return consumers.length > 0 && consumers.every((c) => group.includes(c));
  });
}

/** The non-inlined stages a stage reads, looking through the stages inlined into it. */
function stagesRead(state: ScheduleState, stage: string): string[] {
  const out = new Set<string>();
  forEachRead(stageDefinition(state.program, stage).body, (r) => {
    const st = state.stages.find((s) => s.name === r.tensor);
    if (!st) return;
    if (st.placement.k === "inline") for (const x of stagesRead(state, r.tensor)) out.add(x);
    else out.add(r.tensor);
  });
  return [...out];
}
