/**
 * Proposer cost and calls of colt against single-model MCTS, deterministically: every
 * candidate is "measured" as the analytic estimate (times a fixed factor from its trace),
 * so no compiler runs, the same seed gives the same run on any machine, and the proposer
 * cost, the calls per model and the largest model's share are exact. The best times are
 * a proxy only (the proposers rank candidates with the model that plays the machine);
 * quality is judged with `npm run bench:fidelity`. Used to screen the levers of issue 18.
 *
 *   npm run bench:proposer-cost -- [--workloads a,b] [--size small] [--seeds 3] [--trials 48]
 *     [--levers colt-rounds-by-cost,lambda,graded-bucket,colt-shared-rounds+colt-frontier-next]
 *     [--first-seed 1] [--skip mcts,colt]   (to split a screen over processes)
 *
 * Prints per workload and variant (mcts; colt; colt with each of `--levers`: a fidelity
 * ablation variant or group by name, as `bench:fidelity --ablations` takes them, or
 * variants joined by "+") the median over seeds
 * of the proxy speed over MCTS's, the proposer cost and its ratio to MCTS's, and the
 * largest model's share of the calls.
 */
import { parseArgs } from "node:util";
import { analyticEstimateMs } from "../src/costmodel/analytic.ts";
import { LearnedCostModel } from "../src/costmodel/learned.ts";
import type { Measurement } from "../src/measure/engine.ts";
import type { MachineProfile } from "../src/measure/profile.ts";
import type { Runner } from "../src/measure/runner.ts";
import { median } from "../src/measure/stats.ts";
import { offlineBucket } from "../src/models/offline/proposers.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { largestShareOf, type BenchVariant } from "../src/search/bench.ts";
import type { ColtOptions } from "../src/search/colt.ts";
import { ablationVariants } from "../src/cli/fidelity.ts";
import type { Proposer } from "../src/search/proposer.ts";
import { tune } from "../src/search/tune.ts";
import { instantiate, layerNames, SIZE_NAMES, type SizeName } from "../src/workloads/registry.ts";

/** A fixed machine (the tests' profile), so the figures do not depend on the one the script runs on. */
const PROFILE: MachineProfile = {
  cpuModel: "fixed profile",
  cores: 1,
  compiler: "none",
  peakFlopsPerCore: 240e9,
  bandwidthPerCore: 15.7e9,
  cacheBytesPerCore: 2 * 1024 * 1024,
  calibratedAt: "2026-01-01T00:00:00.000Z",
};

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: layerNames().join(",") },
    size: { type: "string", default: "small" },
    seeds: { type: "string", default: "3" },
    trials: { type: "string", default: "48" },
    levers: { type: "string", default: "" },
    "first-seed": { type: "string", default: "1" },
    skip: { type: "string", default: "" },
  },
});

const size = values.size as SizeName;
if (!SIZE_NAMES.includes(size)) throw new Error(`--size: one of ${SIZE_NAMES.join(", ")}`);
const seeds = Array.from(
  { length: Number(values.seeds) },
  (_, i) => i + Number(values["first-seed"]),
);

function measured(s: Schedule): Measurement {
  // A deterministic spread, so the measured best is not the cost model's own pick.
  const ms = analyticEstimateMs(s, PROFILE) * (1 + (s.text().length % 7) / 20);
  return {
    status: "ok",
    verified: true,
    error: 0,
    gflops: 1 / ms,
    timing: { medianMs: ms, minMs: ms, spread: 0, reps: 1 },
    buildMs: 0,
    buildCached: false,
    runMs: 0,
    compiler: { command: "analytic", version: "-", flags: [] },
  };
}
const engine: Runner = {
  measure: async (s) => measured(s),
  measureAll: async (list) => list.map(measured),
};

interface Variant {
  readonly name: string;
  readonly strategy: "colt" | "mcts";
  readonly colt: Partial<ColtOptions>;
  readonly proposers?: (seed: number) => readonly Proposer[];
}
/** COLT with the settings (and proposers) of the given ablation variants together. */
const coltWith = (name: string, joined: readonly BenchVariant[]): Variant => ({
  name: `colt + ${name}`,
  strategy: "colt",
  colt: Object.assign({}, ...joined.map((v) => v.colt ?? {})),
  proposers: joined.find((v) => v.proposers)?.proposers,
});
/** One `--levers` entry: an ablation group (each of its variants), or variants joined by "+" into one. */
const leverVariants = (entry: string): Variant[] => {
  const parts = entry.split("+").map(ablationVariants);
  if (parts.length === 1) return parts[0].map((v) => coltWith(v.name, [v]));
  if (parts.some((found) => found.length !== 1))
    throw new Error(`--levers: '${entry}' joins a group; join single variants with +`);
  return [coltWith(entry, parts.flat())];
};
const allVariants: Variant[] = [
  { name: "mcts", strategy: "mcts", colt: {} },
  { name: "colt", strategy: "colt", colt: {} },
  ...values.levers
    .split(",")
    .filter((l) => l !== "")
    .flatMap(leverVariants),
];
const variants = allVariants.filter((v) => !values.skip.split(",").includes(v.name));

console.log(
  `| workload | variant | proxy speed vs mcts | proposer cost | of mcts's | largest share |\n| --- | --- | ---: | ---: | ---: | ---: |`,
);
for (const workload of values.workloads.split(",")) {
  const program = instantiate(workload, size);
  const rows = new Map(
    variants.map((v) => [
      v.name,
      { best: [] as number[], cost: [] as number[], share: [] as number[] },
    ]),
  );
  // Seeds outermost, each run on stderr as it ends: an interrupted screen still has every
  // variant at the seeds it finished.
  for (const seed of seeds) {
    for (const v of variants) {
      const r = await tune({
        program,
        strategy: v.strategy,
        seed,
        budget: { trials: Number(values.trials) },
        engine,
        profile: PROFILE,
        threads: 1,
        proposers: (v.proposers ?? offlineBucket)(seed),
        costModel: new LearnedCostModel({ profile: PROFILE, seed, threads: 1 }),
        colt: v.colt,
      });
      const row = rows.get(v.name)!;
      row.best.push(r.best.ms);
      row.cost.push(r.proposerCost ?? 0);
      row.share.push(largestShareOf({ result: r }) ?? 1);
      console.error(
        `run\t${workload}\t${v.name}\t${seed}\t${r.best.ms}\t${r.proposerCost ?? 0}\t${row.share.at(-1)}`,
      );
    }
  }
  // Without mcts (--skip), only the runs' lines on stderr.
  const mcts = rows.get("mcts");
  if (!mcts) continue;
  for (const [name, row] of rows) {
    const cells = [
      workload,
      name,
      `${(median(mcts.best) / median(row.best)).toFixed(2)}x`,
      median(row.cost).toFixed(1),
      (median(row.cost) / median(mcts.cost)).toFixed(2),
      `${(median(row.share) * 100).toFixed(0)}%`,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}
