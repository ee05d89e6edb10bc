/**
 * Strategies side by side at equal trial budgets (DESIGN.md section 5):
 * COLT (offline bucket) vs random search vs single-model MCTS with the largest offline
 * proposer (and optionally evolutionary and beam), over several seeds.
 *
 *   npm run bench:search -- [--workloads a,b] [--strategies colt,random,mcts] [--seeds 5] [--trials 64] [--out docs/benchmarks-search.md]
 *
 * Prints a markdown table: per workload and strategy the median over seeds of the best
 * time, the speedup over the unscheduled program, and for COLT the share of proposer
 * calls that went to the largest model. Each run's best is a minimum over noisy
 * measurements, so once a workload's runs are done every run's best schedule and the
 * unscheduled program are measured again side by side, in alternating rounds with a
 * longer minimum time; the table compares those times.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { LearnedCostModel } from "../src/costmodel/learned.ts";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { median } from "../src/measure/stats.ts";
import { Schedule } from "../src/schedule/schedule.ts";
import { offlineBucket } from "../src/models/offline/proposers.ts";
import { STRATEGIES, tune, type StrategyName } from "../src/search/tune.ts";
import { instantiate } from "../src/workloads/registry.ts";

const LAYERS = [
  "llama3-8b-attention",
  "deepseek-r1-moe",
  "flux-attention",
  "flux-conv",
  "llama4-scout-mlp",
];
const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: LAYERS.join(",") },
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
const strategies = values.strategies.split(",") as StrategyName[];
for (const s of strategies)
  if (!(STRATEGIES as readonly string[]).includes(s)) throw new Error(`unknown strategy ${s}`);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const trials = Number(values.trials);
const compiler = detectCompiler();
const dir = cacheDir();
const profile = await machineProfile(compiler, dir);

interface Row {
  workload: string;
  strategy: StrategyName;
  seed: number;
  baselineMs: number;
  bestMs: number;
  best: Schedule;
  /** The best schedule measured again, side by side with the unscheduled program. */
  finalMs?: number;
  largestShare?: number;
  calls?: number;
  seconds: number;
}
const rows: Row[] = [];
/** The unscheduled program's re-measured time per workload. */
const unscheduledMs = new Map<string, number>();
for (const workload of workloads) {
  const program = instantiate(workload, "small");
  for (const seed of seeds) {
    for (const strategy of strategies) {
      const engine = new MeasurementEngine({
        compiler,
        cacheDir: dir,
        seed: 1,
        minMs: Number(values["min-ms"]),
      });
      const proposers = offlineBucket(seed);
      const r = await tune({
        program,
        strategy,
        seed,
        budget: { trials },
        engine,
        profile,
        threads: 1,
        proposers,
        costModel: new LearnedCostModel({ profile, seed, threads: 1 }),
      });
      const calls = r.models.reduce((n, m) => n + m.calls, 0);
      const largest = [...r.models].sort((a, b) => b.info.size - a.info.size)[0];
      const row: Row = {
        workload,
        strategy,
        seed,
        baselineMs: r.baselineMs,
        bestMs: r.best?.ms ?? r.baselineMs,
        best: r.best?.schedule ?? Schedule.initial(program),
        ...(strategy === "colt" && calls > 0 ? { largestShare: largest.calls / calls, calls } : {}),
        seconds: r.elapsedMs / 1000,
      };
      rows.push(row);
      process.stderr.write(
        `${workload} seed ${seed} ${strategy}: best ${row.bestMs.toFixed(4)} ms (${(row.baselineMs / row.bestMs).toFixed(2)}x)${row.largestShare !== undefined ? `, largest model ${(row.largestShare * 100).toFixed(0)}% of ${calls} calls` : ""}, ${row.seconds.toFixed(0)} s\n`,
      );
    }
  }
  unscheduledMs.set(
    workload,
    await remeasure(
      rows.filter((r) => r.workload === workload),
      Schedule.initial(program),
    ),
  );
}

/**
 * The unscheduled program and every run's best, measured again in alternating rounds;
 * sets each run's `finalMs` and returns the unscheduled program's time.
 */
async function remeasure(runs: Row[], unscheduled: Schedule): Promise<number> {
  const engine = new MeasurementEngine({
    compiler,
    cacheDir: dir,
    seed: 1,
    minMs: Number(values["final-min-ms"]),
  });
  const schedules = [unscheduled, ...runs.map((r) => r.best)];
  const times: number[][] = schedules.map(() => []);
  for (let round = 0; round < Number(values["final-rounds"]); round++) {
    for (const [i, schedule] of schedules.entries()) {
      const m = await engine.measure(schedule);
      if (!m.verified || !m.timing)
        throw new Error(`re-measuring failed: ${m.status} ${m.detail ?? ""}`);
      times[i].push(m.timing.medianMs);
    }
  }
  const baseline = median(times[0]);
  runs.forEach((r, i) => (r.finalMs = median(times[i + 1])));
  process.stderr.write(
    `${runs[0].workload} re-measured: unscheduled ${(baseline * 1000).toFixed(2)} us, ${runs.map((r) => `${r.strategy}/${r.seed} ${(r.finalMs! * 1000).toFixed(2)}`).join(", ")}\n`,
  );
  return baseline;
}

const lines = [
  `Median over seeds ${seeds.join(",")} of each run's best schedule after ${trials} trials, re-measured side by side with the unscheduled program (small sizes, one core, ${compiler.version}).`,
  "",
  `| workload | unscheduled (us) | ${strategies.map((s) => `${s} best (us) | ${s} speedup`).join(" | ")} | COLT largest-model share | COLT vs random | COLT vs mcts |`,
  `| --- | ---: | ${strategies.map(() => "---: | ---:").join(" | ")} | ---: | --- | --- |`,
];
let beatsRandom = 0;
let matchesMcts = 0;
for (const workload of workloads) {
  const med = (s: StrategyName) =>
    median(rows.filter((r) => r.workload === workload && r.strategy === s).map((r) => r.finalMs!));
  const baseline = unscheduledMs.get(workload)!;
  const share = median(
    rows
      .filter((r) => r.workload === workload && r.largestShare !== undefined)
      .map((r) => r.largestShare!),
  );
  const us = (ms: number) => (ms * 1000).toFixed(2);
  const cells = strategies.map((s) => `${us(med(s))} | ${(baseline / med(s)).toFixed(2)}x`);
  const vsRandom = strategies.includes("random")
    ? med("colt") < med("random")
      ? "better"
      : "worse"
    : "-";
  const vsMcts = strategies.includes("mcts")
    ? med("colt") <= med("mcts") * 1.02
      ? "matches or better"
      : "worse"
    : "-";
  if (vsRandom === "better") beatsRandom++;
  if (vsMcts === "matches or better") matchesMcts++;
  lines.push(
    `| ${workload} | ${us(baseline)} | ${cells.join(" | ")} | ${Number.isNaN(share) ? "-" : `${(share * 100).toFixed(0)}%`} | ${vsRandom} | ${vsMcts} |`,
  );
}
lines.push(
  "",
  `COLT beats random on ${beatsRandom} of ${workloads.length} workloads and matches (within 2%) or beats single-model MCTS on ${matchesMcts} of ${workloads.length}.`,
);
const table = lines.join("\n") + "\n";
process.stdout.write(table);
if (values.out) writeFileSync(values.out, table);
