/**
 * A one-thread schedule shared out over several threads: the same trace, then on every
 * stage computed at the root that has no parallel loop yet, the outermost of its serial
 * spatial loops of at least `threads` iterations that the transform accepts made parallel.
 * Constant stages are left serial: they run once in `prepare`.
 *
 * Why: a many-thread tune starts from it beside its own best, so it begins where the
 * one-thread tune ended instead of behind it. A two-thread tune of flux-conv that lost the
 * Winograd recipe to a slow minute kept a schedule 8% slower than this sharing of the
 * one-thread best (6.9 against 6.3 ms, AMD EPYC Zen 5 VM).
 */
import { constantTensors } from "../ir/program.ts";
import type { Schedule } from "./schedule.ts";
import { nominalExtents } from "./state.ts";

export function shareOut(schedule: Schedule, threads: number): Schedule | undefined {
  if (threads < 2) return undefined;
  const program = schedule.state.program;
  const constants = constantTensors(program);
  let shared = schedule;
  for (const st of schedule.state.stages) {
    if (st.placement.k !== "root" || constants.has(st.name)) continue;
    if (st.loops.some((l) => l.annotation === "parallel")) continue;
    const extents = nominalExtents(program, st);
    const candidates = st.loops.filter(
      (l) => l.annotation === "serial" && !l.reduce && (extents.get(l.name) ?? 1) >= threads,
    );
    // The outermost the transform accepts (it refuses e.g. a loop another stage is computed in).
    for (const loop of candidates) {
      const applied = shared.tryApply({ kind: "parallel", stage: st.name, loop: loop.name });
      if (!applied.ok) continue;
      shared = applied.schedule;
      break;
    }
  }
  return shared === schedule ? undefined : shared;
}
