/**
 * Strategies side by side at equal trial budgets (docs/design.md, baselines):
 * COLT (offline bucket) vs random search vs single-model MCTS with the largest offline
 * proposer (and optionally evolutionary, beam, and mcts-equal-calls: MCTS held to as many
 * proposer calls as the same seed's COLT run gave its largest model), over several seeds.
 *
 *   npm run bench:search -- [--workloads a,b] [--strategies colt,random,mcts] [--seeds 5] [--trials 64] [--out docs/benchmarks-search.md]
 *
 * Prints a markdown table: per workload and strategy the median over seeds of the best
 * time, the speedup over the unscheduled program, for COLT the share of proposer
 * calls that went to the largest model, and the proposer cost of COLT and MCTS (in calls
 * of the largest model). Every run's best and the unscheduled program are
 * measured again side by side (src/search/bench.ts); the table compares those times.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { offlineBucket } from "../src/models/offline/proposers.ts";
import {
  benchTable,
  checkBenchStrategies,
  EQUAL_CALLS_MCTS,
  largestShareOf,
  proposerCostOf,
  runBench,
  type BenchRow,
  type BenchStrategy,
} from "../src/search/bench.ts";
import { instantiate, layerNames } from "../src/workloads/registry.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: layerNames().join(",") },
    strategies: { type: "string", default: "colt,random,mcts" },
    seeds: { type: "string", default: "5" },
    trials: { type: "string", default: "64" },
    "min-ms": { type: "string", default: "30" },
    "final-min-ms": { type: "string", default: "200" },
    "final-rounds": { type: "string", default: "3" },
    out: { type: "string" },
  },
});
const workloads = values.workloads.split(",");
const strategies = checkBenchStrategies(values.strategies.split(","));
const equalCalls = strategies.includes(EQUAL_CALLS_MCTS);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const trials = Number(values.trials);
const compiler = detectCompiler();
const dir = cacheDir();
const profile = await machineProfile(compiler, dir);
const engine = (minMs: string | undefined) =>
  new MeasurementEngine({ compiler, cacheDir: dir, seed: 1, minMs: Number(minMs) });

const runs = await runBench({
  programs: workloads.map((workload) => ({ workload, program: instantiate(workload, "small") })),
  strategies,
  seeds,
  trials,
  profile,
  threads: 1,
  proposers: (seed) => offlineBucket(seed),
  run: (workload, _program, variant, seed) => ({
    engine: engine(values["min-ms"]),
    done: (r) => {
      const bestMs = r.best?.ms ?? r.baselineMs;
      const calls = r.models.reduce((n, m) => n + m.calls, 0);
      const largest = largestShareOf({ result: r });
      const cost = proposerCostOf({ result: r });
      const proposers =
        (largest === null
          ? ""
          : `, largest model ${(largest * 100).toFixed(0)}% of ${calls} calls`) +
        (cost === null ? "" : `, proposer cost ${cost.toFixed(0)}`);
      process.stderr.write(
        `${workload} seed ${seed} ${variant.name}: best ${bestMs.toFixed(4)} ms (${(r.baselineMs / bestMs).toFixed(2)}x)${proposers}, ${(r.elapsedMs / 1000).toFixed(0)} s\n`,
      );
    },
  }),
  remeasure: {
    engine: engine(values["final-min-ms"]),
    rounds: Number(values["final-rounds"]),
    done: (workload, unscheduledMs, done) =>
      process.stderr.write(
        `${workload} re-measured: unscheduled ${(unscheduledMs * 1000).toFixed(2)} us, ${done.map((r) => `${r.strategy}/${r.seed} ${((r.remeasured?.bestMs ?? NaN) * 1000).toFixed(2)}`).join(", ")}\n`,
      ),
  },
});

const rows = benchTable(runs, profile.peakFlopsPerCore);
const row = (workload: string, s: BenchStrategy): BenchRow | undefined =>
  rows.find((r) => r.workload === workload && r.strategy === s);
const us = (ms: number | null | undefined) => (ms == null ? "-" : (ms * 1000).toFixed(2));
const lines = [
  `Median over seeds ${seeds.join(",")} of each run's best schedule after ${trials} trials, re-measured side by side with the unscheduled program (small sizes, one core, ${compiler.version}).`,
  "",
  `| workload | unscheduled (us) | ${strategies.map((s) => `${s} best (us) | ${s} speedup`).join(" | ")} | COLT largest-model share | proposer cost COLT / mcts | COLT vs random | COLT vs mcts |${equalCalls ? " COLT vs mcts at equal largest-model calls |" : ""}`,
  `| --- | ---: | ${strategies.map(() => "---: | ---:").join(" | ")} | ---: | ---: | --- | --- |${equalCalls ? " --- |" : ""}`,
];
let beatsRandom = 0;
let matchesMcts = 0;
let matchesEqualCalls = 0;
const versus = (colt: number | null | undefined, other: number | null | undefined) =>
  colt == null || other == null ? "-" : colt <= other * 1.02 ? "matches or better" : "worse";
for (const workload of workloads) {
  const colt = row(workload, "colt")?.bestMs;
  const random = row(workload, "random")?.bestMs;
  const mcts = row(workload, "mcts")?.bestMs;
  const vsEqualCalls = versus(colt, row(workload, EQUAL_CALLS_MCTS)?.bestMs);
  if (vsEqualCalls === "matches or better") matchesEqualCalls++;
  const cells = strategies.map((s) => {
    const r = row(workload, s);
    return `${us(r?.bestMs)} | ${r?.speedup == null ? "-" : `${r.speedup.toFixed(2)}x`}`;
  });
  const vsRandom = colt == null || random == null ? "-" : colt < random ? "better" : "worse";
  const vsMcts = versus(colt, mcts);
  if (vsRandom === "better") beatsRandom++;
  if (vsMcts === "matches or better") matchesMcts++;
  const share = row(workload, "colt")?.largestShare;
  const cost = (s: BenchStrategy) => row(workload, s)?.proposerCost?.toFixed(0) ?? "-";
  lines.push(
    `| ${workload} | ${us(rows.find((r) => r.workload === workload)?.unscheduledMs)} | ${cells.join(" | ")} | ${share == null ? "-" : `${(share * 100).toFixed(0)}%`} | ${cost("colt")} / ${cost("mcts")} | ${vsRandom} | ${vsMcts} |${equalCalls ? ` ${vsEqualCalls} |` : ""}`,
  );
}
lines.push(
  "",
  `COLT beats random on ${beatsRandom} of ${workloads.length} workloads and matches (within 2%) or beats single-model MCTS on ${matchesMcts} of ${workloads.length}.${equalCalls ? ` Against MCTS held to COLT's largest-model calls of the same seed it matches or beats it on ${matchesEqualCalls} of ${workloads.length}.` : ""}`,
);
const table = lines.join("\n") + "\n";
process.stdout.write(table);
if (values.out) writeFileSync(values.out, table);
