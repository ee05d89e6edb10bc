/** The headline table of docs/benchmarks.md: COLT against ONNX Runtime (and OpenBLAS) at paper size. */
import type { Comparison } from "../src/compare/compare.ts";
import type { MachineProfile } from "../src/measure/profile.ts";
import type { Scaling } from "../src/measure/scaling.ts";

/**
 * A memory-bound row's median as a fraction of its roofline bound: the calibrated one, and
 * the one from the memory's streams timed right before and after the row (null: above it).
 */
export interface MemoryBoundFractions {
  readonly calibrated: number | null;
  readonly beside: number | null;
}

/**
 * A comparison, with its fractions of the memory bound where the memory sets the bound, and
 * on several threads its speed over the one-thread schedule's, measured side by side.
 */
export type PaperRow = Comparison & {
  readonly memoryBound?: MemoryBoundFractions;
  readonly scaling?: Scaling;
};

export interface PaperHeader {
  readonly profile: MachineProfile;
  readonly compiler: string;
  readonly ortVersion: string;
  /** Trials of each COLT tune before its comparison. */
  readonly trials: number;
  readonly date: string;
  readonly command: string;
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const share = (f: number | null) => (f === null ? "above" : `${(f * 100).toFixed(0)}%`);

export function paperTable(header: PaperHeader, rows: readonly PaperRow[]): string {
  const p = header.profile;
  const rounds = Math.max(1, ...rows.map((c) => c.roundRatios.length));
  const order =
    rounds > 1
      ? `alternating in ${rounds} rounds (COLT / ORT: the median of the rounds' ratios)`
      : "measured one after the other";
  const lines = [
    "```sh",
    header.command,
    "```",
    "",
    `${p.cpuModel}, ${p.cores} cores, calibrated peak ${(p.peakFlopsPerCore / 1e9).toFixed(0)} GFLOP/s per core; ` +
      `${header.compiler}; COLT tuned ${header.trials} trials per row (default strategy, offline proposers; on several threads also starting from the one-thread row's best, shared out); ` +
      `ONNX Runtime ${header.ortVersion} (CPU provider, graph optimizations all); ${header.date}. ` +
      `Medians of repeated runs, each side pinned to the same cores, ${order}; ` +
      "ONNX Runtime's output checked against COLT's reference. " +
      "`fastest`: ONNX Runtime's fastest repetition over COLT's, which repeats between sittings on a machine whose speed drifts. " +
      "GFLOP/s count the workload's operations (effective); `% of peak` the operations COLT's kernel executes (fewer after `winograd`; causal attention's skipped blocks still count). " +
      "`× 1 thread`: on several threads, the row's schedule against the one-thread row's schedule on one core, both measured again side by side in alternating rounds (the median of the rounds' ratios). " +
      "`% of memory bound`, where the memory sets the roofline bound: COLT's median against the bound from the calibrated bandwidths, and in parentheses against the bound from the same streams timed over the kernel's footprint on its cores right before and after the row (`above`: faster than that bound).",
    "",
    "| workload | threads | COLT (ms) | ONNX Runtime (ms) | OpenBLAS (ms) | COLT / ORT | fastest | × 1 thread | COLT GFLOP/s | % of peak | % of memory bound |",
    "| -------- | ------: | --------: | ----------------: | ------------: | ---------: | ------: | ---------: | -----------: | --------: | ----------------: |",
  ];
  for (const c of rows) {
    const peak = (p.peakFlopsPerCore * c.threads) / 1e9;
    lines.push(
      `| ${c.workload} | ${c.threads} | ${ms(c.colt.medianMs)} | ${ms(c.ort.medianMs)} | ` +
        `${c.openblas ? ms(c.openblas.medianMs) : "–"} | **${c.ratio.toFixed(2)}×** | ${c.minRatio.toFixed(2)}× | ` +
        `${c.scaling ? `${c.scaling.ratio.toFixed(2)}×` : "–"} | ` +
        `${c.colt.gflops.toFixed(1)} | ${((c.executedFlops / (c.colt.medianMs * 1e6) / peak) * 100).toFixed(0)}% | ` +
        `${c.memoryBound ? `${share(c.memoryBound.calibrated)} (${share(c.memoryBound.beside)})` : "–"} |`,
    );
  }
  return lines.join("\n");
}
