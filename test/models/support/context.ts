/** A proposal context for a matmul node two steps deep, as the search would build it. */
import { printLoopNest } from "../../../src/ir/print.ts";
import type { ProposalContext } from "../../../src/search/proposer.ts";
import { legalMoves } from "../../../src/schedule/enumerate.ts";
import { Schedule } from "../../../src/schedule/schedule.ts";
import { parseTrace } from "../../../src/schedule/text.ts";
import { X86_AVX512 } from "../../../src/target/targets.ts";
import { program } from "./setup.ts";

export function context(extra: Partial<ProposalContext> = {}): ProposalContext {
  const schedule = Schedule.fromTrace(
    program,
    parseTrace("split C.i 8 -> io ii\nsplit C.j 16 -> jo ji\n"),
  );
  return {
    purpose: "expand",
    schedule,
    programText: printLoopNest(schedule.lower()),
    traceText: schedule.text(),
    node: { ms: 0.5, measured: false, score: 0.4 },
    parent: { ms: 0.75, measured: true, score: 0.3 },
    grandparent: { ms: 1.25, measured: true, score: 0.1 },
    legalMoves: () => legalMoves(schedule, { threads: 1 }),
    predictMs: () => 1,
    models: [
      {
        name: "large",
        kind: "llm",
        size: 70e9,
        calls: 4,
        hits: 1,
        errors: 2,
        courseAlterations: 1,
        alterationsCaused: 0,
        costUsd: 0.0123,
      },
      {
        name: "small",
        kind: "llm",
        size: 8e9,
        calls: 10,
        hits: 5,
        errors: 0,
        courseAlterations: 0,
        alterationsCaused: 3,
        costUsd: 0.001,
      },
    ],
    children: [],
    ancestorModels: ["large", "small"],
    threads: 1,
    target: X86_AVX512,
    budget: { trialsUsed: 3, trials: 64, proposerCalls: 14 },
    ...extra,
  };
}
