/**
 * The schedule state of every stage, derived by replaying a trace on a program.
 * It records loop structure (order, splits, fuses, annotations) and attachments
 * (cache_write, packs, placement); extents and guards are derived at lowering.
 */
import { forEachRead, type Program, type Stage } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";

export type LoopAnnotation = "serial" | "parallel" | "vector" | "unroll";

export interface LoopState {
  readonly name: string;
  readonly reduce: boolean;
  readonly annotation: LoopAnnotation;
  /** A parallel loop's iterations handed out dynamically in chunks of this many. */
  readonly chunk?: number;
}

export type Relation =
  | {
      readonly k: "split";
      readonly parent: string;
      readonly outer: string;
      readonly inner: string;
      readonly factor: number;
    }
  | { readonly k: "fuse"; readonly outer: string; readonly inner: string; readonly fused: string };

export interface OperandCopy {
  readonly tensor: string;
  readonly at: string;
  /** pack: layout in the order of the loops inside `at`; tile: the tensor's own dimensions. */
  readonly layout: "pack" | "tile";
}

/** A software prefetch of what a later iteration of `ahead` reads (`prefetch`). */
export interface PrefetchState {
  readonly tensor: string;
  readonly at: string;
  readonly ahead: string;
  readonly distance: number;
  readonly spread?: boolean;
}

export type Placement =
  | { readonly k: "root" }
  | { readonly k: "at"; readonly consumer: string; readonly loop: string }
  | { readonly k: "inline" };

export interface StageState {
  readonly name: string;
  readonly loops: readonly LoopState[];
  readonly relations: readonly Relation[];
  /** Every loop name ever used in this stage: names are never reused, so relations stay unambiguous. */
  readonly usedNames: ReadonlySet<string>;
  readonly cacheWriteAt?: string;
  readonly copies: readonly OperandCopy[];
  /** Weights this stage reads from a copy re-laid once before the kernel runs (`prepare`). */
  readonly prepared: readonly string[];
  readonly placement: Placement;
  /** Iterations where a mask makes the stage's work void are skipped (`skip_masked`). */
  readonly skipMasked?: boolean;
  /** Whole-vector stores to the output bypass the caches where the target can (`stream_store`). */
  readonly streamStores?: boolean;
  /** The loop whose steps overlap: producers of step L with this stage's work of L-1 (`pipeline`). */
  readonly pipelined?: string;
  readonly prefetches?: readonly PrefetchState[];
}

export interface ScheduleState {
  readonly program: Program;
  /** In program (topological) order. */
  readonly stages: readonly StageState[];
}

/** A stage's definition in the program; unknown names are a ScheduleError. */
export function stageDefinition(program: Program, name: string): Stage {
  return stageNamed(program.stages, name);
}

/** A stage's schedule state; unknown names are a ScheduleError. */
export function stageState(state: ScheduleState, name: string): StageState {
  return stageNamed(state.stages, name);
}

function stageNamed<T extends { readonly name: string }>(stages: readonly T[], name: string): T {
  const stage = stages.find((s) => s.name === name);
  if (!stage) {
    throw new ScheduleError(
      `unknown stage (stages: ${stages.map((s) => s.name).join(", ")})`,
      name,
    );
  }
  return stage;
}

export function initialState(program: Program): ScheduleState {
  return { program, stages: program.stages.map((s) => initialStageState(program, s.name)) };
}

export function initialStageState(program: Program, stageName: string): StageState {
  const stage = stageDefinition(program, stageName);
  const loops: LoopState[] = [
    ...stage.axes.map((a) => ({ name: a.name, reduce: false, annotation: "serial" as const })),
    ...stage.reduceAxes.map((a) => ({ name: a.name, reduce: true, annotation: "serial" as const })),
  ];
  return {
    name: stageName,
    loops,
    relations: [],
    usedNames: new Set(loops.map((l) => l.name)),
    copies: [],
    prepared: [],
    placement: { k: "root" },
  };
}

/** No transformation has touched the stage yet: where a rewrite (rfactor, winograd) may apply. */
export function isUntouched(state: ScheduleState, st: StageState): boolean {
  const initial = initialStageState(state.program, st.name);
  return (
    st.relations.length === 0 &&
    st.loops.every((l, i) => l.name === initial.loops[i].name && l.annotation === "serial") &&
    !st.cacheWriteAt &&
    st.copies.length === 0 &&
    st.prepared.length === 0 &&
    !st.skipMasked &&
    !state.stages.some((s) => s.placement.k === "at" && s.placement.consumer === st.name)
  );
}

/** Static extents of every loop name (current and retired) given the extents of the root axes. */
export function loopExtents(
  st: StageState,
  rootExtents: ReadonlyMap<string, number>,
): Map<string, number> {
  const ext = new Map(rootExtents);
  for (const r of st.relations) {
    if (r.k === "split") {
      const parent = ext.get(r.parent)!;
      ext.set(r.outer, Math.ceil(parent / r.factor));
      ext.set(r.inner, Math.min(r.factor, parent));
    } else {
      ext.set(r.fused, ext.get(r.outer)! * ext.get(r.inner)!);
    }
  }
  return ext;
}

/** Extents of a stage's loops over its full domain (compute_at regions may be smaller). */
export function nominalExtents(program: Program, st: StageState): Map<string, number> {
  const stage = stageDefinition(program, st.name);
  return loopExtents(
    st,
    new Map([...stage.axes, ...stage.reduceAxes].map((a) => [a.name, a.extent])),
  );
}

export function consumersOf(program: Program, tensor: string): string[] {
  return program.stages
    .filter((s) => {
      let reads = false;
      forEachRead(s.body, (r) => {
        if (r.tensor === tensor) reads = true;
      });
      return reads;
    })
    .map((s) => s.name);
}
