/**
 * COLT's own claim at real sizes (issue 18): the five layers at `medium` (data beyond the
 * private L2), strategies side by side at equal trials over several seeds (COLT with the
 * default bucket, single-model MCTS with the largest and with the mid-size offline
 * proposer, evolutionary, random), the COLT ablations (λ, course-alteration K, an
 * 8-proposer graded bucket, measurement round lengths), and a one-seed spot check at
 * `paper` size per layer.
 *
 *   npm run bench:fidelity -- [--workloads a,b] [--seeds 5] [--trials 64] [--size medium]
 *       [--strategies colt,mcts,mcts-mid,evolutionary,random]
 *       [--ablations lambda,course-alteration,graded-bucket,round-length,levers|none] [--paper-strategies colt,mcts|none]
 *       [--doc docs/benchmarks.md] [--report fidelity.html]
 *
 * Every run's best and the unscheduled program are re-measured side by side per workload
 * (src/search/bench.ts). Per workload and strategy: median and IQR of those best times,
 * the median of their fastest repetitions, speedup, trials to 90% of the final best,
 * proposer cost, the largest model's share, proposer calls per model, wall time. The tables go between the fidelity markers of
 * `--doc`; `--report` writes the HTML report with the quality-against-proposer-cost chart
 * (the runs at `--size`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { offlineBucket } from "../src/models/offline/proposers.ts";
import { escapeHtml, renderBenchReport } from "../src/report/html.ts";
import {
  benchTable,
  runBench,
  runPoints,
  type BenchRun,
  type BenchVariant,
} from "../src/search/bench.ts";
import { ablationVariants, FIDELITY_STRATEGIES, fidelityTable } from "../src/cli/fidelity.ts";
import { checkMarkers, replaceBetweenMarkers } from "../src/util/doc-markers.ts";
import { PhaseClock } from "../src/util/phase-clock.ts";
import { DEFAULT_COURSE_ALTERATION_K } from "../src/search/course-alteration.ts";
import { DEFAULT_POLICY } from "../src/search/policy.ts";
import { SIZE_NAMES, instantiate, layerNames, type SizeName } from "../src/workloads/registry.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: layerNames().join(",") },
    seeds: { type: "string", default: "5" },
    trials: { type: "string", default: "64" },
    size: { type: "string", default: "medium" },
    strategies: { type: "string", default: FIDELITY_STRATEGIES.map((v) => v.name).join(",") },
    ablations: { type: "string", default: "lambda,course-alteration,graded-bucket,round-length" },
    "paper-strategies": { type: "string", default: "colt,mcts" },
    "min-ms": { type: "string", default: "30" },
    "final-min-ms": { type: "string", default: "200" },
    "final-rounds": { type: "string", default: "3" },
    doc: { type: "string" },
    report: { type: "string" },
  },
});
if (!(SIZE_NAMES as readonly string[]).includes(values.size))
  throw new Error(`--size must be one of ${SIZE_NAMES.join(", ")}`);
const size = values.size as SizeName;
const workloads = values.workloads.split(",").map((w) => w.trim());
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const trials = Number(values.trials);
const ablations = ablationVariants(values.ablations);
const DOC_SECTIONS = ["fidelity:strategies", "fidelity:ablations", "fidelity:paper"];
if (values.doc) {
  try {
    checkMarkers(values.doc, DOC_SECTIONS);
  } catch (e) {
    process.stderr.write(`bench:fidelity: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
/** The FIDELITY_STRATEGIES an option names, comma-separated. */
const namedStrategies = (option: string, list: string) =>
  list.split(",").map((name) => {
    const variant = FIDELITY_STRATEGIES.find((v) => v.name === name.trim());
    if (!variant)
      throw new Error(
        `unknown --${option} entry '${name}' (${FIDELITY_STRATEGIES.map((v) => v.name).join(", ")}${option === "paper-strategies" ? ", or none" : ""})`,
      );
    return variant;
  });
const strategies = namedStrategies("strategies", values.strategies);
const paperStrategies =
  values["paper-strategies"] === "none"
    ? []
    : namedStrategies("paper-strategies", values["paper-strategies"]);

const compiler = detectCompiler();
const dir = cacheDir();
const profile = await machineProfile(compiler, dir);
const engine = (minMs: string, clock?: PhaseClock) =>
  new MeasurementEngine({ compiler, cacheDir: dir, seed: 1, minMs: Number(minMs), clock });

const started = Date.now();
async function bench(
  at: SizeName,
  variants: readonly BenchVariant[],
  benchSeeds: readonly number[],
): Promise<BenchRun[]> {
  return runBench({
    programs: workloads.map((workload) => ({ workload, program: instantiate(workload, at) })),
    strategies: variants,
    seeds: benchSeeds,
    trials,
    profile,
    threads: 1,
    proposers: (seed) => offlineBucket(seed),
    run: (workload, _program, variant, seed) => {
      const clock = new PhaseClock();
      return {
        engine: engine(values["min-ms"], clock),
        clock,
        done: (r) => {
          const bestMs = r.best?.ms ?? r.baselineMs;
          const cost =
            r.proposerCost === null ? "" : `, proposer cost ${r.proposerCost.toFixed(1)}`;
          const w = r.wall;
          process.stderr.write(
            `${at} ${workload} seed ${seed} ${variant.name}: best ${bestMs.toFixed(4)} ms (${(r.baselineMs / bestMs).toFixed(2)}x)${cost}, ` +
              `${(w.totalMs / 1000).toFixed(0)} s (measuring ${(w.measuringMs / 1000).toFixed(0)}, building ${(w.buildingMs / 1000).toFixed(0)}, proposing ${(w.proposingMs / 1000).toFixed(0)})\n`,
          );
        },
      };
    },
    remeasure: {
      engine: engine(values["final-min-ms"]),
      rounds: Number(values["final-rounds"]),
      done: (workload, unscheduledMs, done) =>
        process.stderr.write(
          `${at} ${workload} re-measured: unscheduled ${unscheduledMs.toFixed(4)} ms, ${done.map((r) => `${r.strategy}/${r.seed} ${(r.remeasured?.bestMs ?? NaN).toFixed(4)} (min ${(r.remeasured?.bestMinMs ?? NaN).toFixed(4)})`).join(", ")}\n`,
        ),
    },
  });
}

const main = await bench(size, [...strategies, ...ablations], seeds);
const paper = paperStrategies.length > 0 ? await bench("paper", paperStrategies, [1]) : [];
const minutes = ((Date.now() - started) / 60_000).toFixed(0);

const peak = profile.peakFlopsPerCore;
const rows = benchTable(main, peak);
const isAblation = (strategy: string) => ablations.some((v) => v.name === strategy);
const setup = `${trials} trials per run, seeds ${seeds.join(",")}, ${size} size, one core, ${compiler.version}; every run's best re-measured side by side with the unscheduled program (${values["final-rounds"]} rounds of >= ${values["final-min-ms"]} ms; best (min): the fastest repetition over those rounds); ${minutes} min in all, ${new Date().toISOString().slice(0, 10)}.`;
const tables = {
  "fidelity:strategies": `${setup}\n\n${fidelityTable(rows.filter((r) => !isAblation(r.strategy)))}`,
  "fidelity:ablations":
    ablations.length > 0
      ? `COLT ablations, same runs and seeds as above (colt: λ = ${DEFAULT_POLICY.lambda}, K = ${DEFAULT_COURSE_ALTERATION_K}, three proposers, a measurement round every 4 expansions).\n\n${fidelityTable(rows.filter((r) => r.strategy === "colt" || isAblation(r.strategy)))}`
      : "Not run (`--ablations none`).",
  "fidelity:paper":
    paper.length > 0
      ? `One seed, ${trials} trials, paper size.\n\n${fidelityTable(benchTable(paper, peak))}`
      : "Not run (`--paper-strategies none`).",
};
const text = Object.values(tables).join("\n\n") + "\n";
process.stdout.write(text);
if (values.doc) {
  let doc = readFileSync(values.doc, "utf8");
  for (const [marker, table] of Object.entries(tables))
    doc = replaceBetweenMarkers(doc, marker, table, values.doc);
  writeFileSync(values.doc, doc);
}
if (values.report) {
  const html = await renderBenchReport(
    `COLT fidelity bench: ${setup}`,
    `<pre>${escapeHtml(text)}</pre>`,
    [],
    runPoints(main),
  );
  writeFileSync(values.report, html);
}
