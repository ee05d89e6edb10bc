/** What `colt tune` reports about a finished search: the JSON summary and its text form. */
import { ABOVE_BOUND, rooflineFraction } from "../../measure/roofline.ts";
import { describeFailure } from "../../search/finalists.ts";
import type { TuneResult } from "../../search/tune.ts";
import { BASELINE_TRIAL } from "../../search/trials.ts";
import { formatMs, percent } from "../../util/format.ts";
import type { LlmReport } from "../models.ts";

/** The summary `--json` prints and `summary.json` holds. */
export function summarize(
  workload: string,
  size: string,
  shape: Readonly<Record<string, number>>,
  r: TuneResult,
  flops: number,
  peak: number,
  /** The best kernel's executed operations and its roofline bound (fewer after winograd). */
  executed: { readonly flops: number; readonly rooflineMs: number },
  llm?: LlmReport,
) {
  const bestMs = r.best.ms;
  return {
    workload,
    size,
    shape,
    strategy: r.strategy,
    seed: r.seed,
    trials: r.trials.length,
    baselineMs: r.baselineMs,
    bestMs,
    bestPrepareMs: r.best.prepareMs ?? null,
    speedup: r.baselineMs / bestMs,
    gflops: flops / (bestMs * 1e6),
    flops,
    executedFlops: executed.flops,
    peakFraction: executed.flops / (bestMs * 1e-3) / peak,
    rooflineFraction: rooflineFraction(executed.rooflineMs, bestMs),
    aboveRoofline: bestMs < executed.rooflineMs,
    verified: true,
    bestTrace: r.best.schedule.text(),
    bestTrial: r.best.trial,
    models: r.models.map((m) => m.toJSON()),
    allModelsFailing: r.allModelsFailing,
    stalled: r.stalled,
    proposerCost: r.proposerCost,
    finalists: r.finalists.map((f) => ({
      trial: f.trial,
      inRunMs: f.inRunMs,
      againMs: f.againMs,
      ms: Number.isFinite(f.ms) ? f.ms : null,
      ...(f.failure !== undefined ? { failure: f.failure } : {}),
    })),
    ...(llm ? { llm } : {}),
    elapsedMs: r.elapsedMs,
    wallMs: {
      total: r.wall.totalMs,
      measuring: r.wall.measuringMs,
      building: r.wall.buildingMs,
      proposing: r.wall.proposingMs,
      other: r.wall.otherMs,
    },
  };
}

export type Summary = ReturnType<typeof summarize>;

/** The summary as the text `colt tune` prints without `--json`. */
export function renderSummary(s: Summary, r: TuneResult): string {
  const lines = [
    `${s.workload} (${Object.entries(s.shape)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ", ",
      )}) ${s.strategy}, seed ${s.seed}, ${s.trials} trials in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  baseline  ${formatMs(s.baselineMs)} (unscheduled)`,
  ];
  const where =
    s.bestTrial === BASELINE_TRIAL
      ? "= the unscheduled program (no trial beat it)"
      : `at trial ${s.bestTrial}`;
  lines.push(
    `  best      ${formatMs(s.bestMs)} ${where}, verified${s.bestPrepareMs !== null ? ` (+ prepare ${formatMs(s.bestPrepareMs)} once, not in the time)` : ""}`,
    `  speedup   ${s.speedup.toFixed(2)}x   ${s.gflops.toFixed(1)} GFLOP/s${s.executedFlops < s.flops ? " effective" : ""} = ${percent(s.peakFraction)} of peak, ${s.rooflineFraction !== null ? `${percent(s.rooflineFraction)} of roofline` : ABOVE_BOUND}`,
  );
  if (r.finalists.length > 0)
    lines.push(
      `  finalists ${r.finalists.map((f) => `trial ${f.trial} ${f.failure !== undefined ? `failed when measured again (${describeFailure(f.failure)})` : `${formatMs(f.ms)} (${[f.inRunMs, ...f.againMs].map(formatMs).join(", ")})`}`).join("; ")}`,
    );
  if (r.models.length > 0) {
    lines.push(
      "  models    calls  hits  errors  course-alt  tokens in/out   cost USD  latency s  (offline = built-in proposer, not an LLM)",
    );
    for (const m of r.models) {
      const tokens = `${m.tokensIn}/${m.tokensOut}`;
      lines.push(
        `    ${`${m.info.name} [${m.info.kind}]`.padEnd(28)} ${String(m.calls).padStart(5)} ${String(m.hits).padStart(5)} ${String(m.errors).padStart(7)} ${String(m.courseAlterations).padStart(11)} ${tokens.padStart(14)} ${m.costUsd.toFixed(4).padStart(10)} ${(m.latencyMs / 1000).toFixed(1).padStart(10)}`,
      );
    }
  }
  if (s.proposerCost !== null)
    lines.push(
      `  proposer cost ${s.proposerCost.toFixed(1)} (calls weighted by model size over the largest)`,
    );
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  lines.push(
    `  wall      ${seconds(s.wallMs.total)}: measuring ${seconds(s.wallMs.measuring)}, building ${seconds(s.wallMs.building)}, proposing ${seconds(s.wallMs.proposing)}, other ${seconds(s.wallMs.other)}`,
  );
  if (r.allModelsFailing)
    lines.push(
      "  note      every model was failing at the end; the run continued on random legal moves",
    );
  if (r.stalled)
    lines.push(
      "  note      stopped before the trial budget: the last proposals only repeated programs already measured",
    );
  const replay = s.llm?.replay;
  if (replay) {
    lines.push(
      `  replay    ${replay.found} answers from ${replay.from} (measurements ${replay.measurements}); ${replay.missing} requests not in the records`,
    );
  }
  if (s.bestTrace)
    lines.push(
      "  best trace:",
      ...s.bestTrace
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`),
    );
  return lines.join("\n") + "\n";
}
