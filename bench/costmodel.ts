/**
 * Cost-model quality on real measurements: random legal schedules of small workloads are
 * built, verified and timed; the learned model is trained on 2/3 of them and both it and
 * the analytic estimate are judged by Spearman rank correlation on the held-out 1/3
 * (averaged over several seeded splits: one split of 40 schedules is a noisy figure).
 *
 *   npx tsx bench/costmodel.ts [--workload matmul] [--workload softmax] [--samples 120]
 *     [--size small] [--steps 10] [--seed 1] [--min-ms 20] [--splits 10]
 *     [--save runs/costmodel.json] [--load runs/costmodel.json] [--runs DIR]...
 *
 * --save writes the measured traces and times; --load re-evaluates saved ones without
 * measuring again (same machine profile). --runs takes the verified trials of `colt tune
 * --out DIR` runs instead: the schedules a search measures, near the best, where the
 * ranking matters most.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { analyticEstimateMs } from "../src/costmodel/analytic.ts";
import { LearnedCostModel } from "../src/costmodel/learned.ts";
import { spearman } from "../src/costmodel/rank.ts";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { Schedule } from "../src/schedule/schedule.ts";
import { parseTrace } from "../src/schedule/text.ts";
import { randomLegalTrace } from "../src/search/random-trace.ts";
import { Random } from "../src/util/random.ts";
import { instantiate, type SizeName } from "../src/workloads/registry.ts";

const { values } = parseArgs({
  options: {
    workload: { type: "string", multiple: true },
    size: { type: "string", default: "small" },
    samples: { type: "string", default: "120" },
    steps: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    splits: { type: "string", default: "10" },
    "min-ms": { type: "string", default: "20" },
    save: { type: "string" },
    load: { type: "string" },
    runs: { type: "string", multiple: true },
  },
});

interface Sample {
  readonly workload: string;
  readonly trace: string;
  readonly ms: number;
}

const size = values.size as SizeName;
const fromRuns = values.runs ? samplesOfRuns(values.runs) : undefined;
const workloads =
  values.workload ??
  (fromRuns ? [...new Set(fromRuns.map((s) => s.workload))] : ["matmul", "softmax"]);
const seed = Number(values.seed);
const out = (line: string) => process.stdout.write(line + "\n");

const compiler = detectCompiler();
const dir = cacheDir();
const profile = await machineProfile(compiler, dir);
out(
  `machine: ${profile.cpuModel}, peak ${(profile.peakFlopsPerCore / 1e9).toFixed(0)} GFLOP/s/core, ` +
    `${(profile.bandwidthPerCore / 1e9).toFixed(1)} GB/s/core; ${compiler.version}`,
);

let samples: Sample[] = [];
if (fromRuns) {
  samples = fromRuns.filter((s) => workloads.includes(s.workload));
  out(`loaded ${samples.length} measured trials from ${values.runs!.length} runs`);
} else if (values.load) {
  samples = (JSON.parse(readFileSync(values.load, "utf8")) as Sample[]).filter((s) =>
    workloads.includes(s.workload),
  );
  out(`loaded ${samples.length} measured samples from ${values.load}`);
} else {
  const engine = new MeasurementEngine({
    compiler,
    cacheDir: dir,
    minMs: Number(values["min-ms"]),
    seed: 1,
  });
  for (const [w, name] of workloads.entries()) {
    const program = instantiate(name, size);
    const random = new Random(seed * 1000 + w);
    const seen = new Set<string>();
    const schedules: Schedule[] = [Schedule.initial(program)];
    seen.add("");
    const t0 = performance.now();
    for (
      let tries = 0;
      schedules.length < Number(values.samples) && tries < 20 * Number(values.samples);
      tries++
    ) {
      const steps = 1 + random.int(Number(values.steps));
      const s = randomLegalTrace(Schedule.initial(program), steps, random.fork(tries));
      const key = s.text();
      if (seen.has(key)) continue;
      seen.add(key);
      schedules.push(s);
    }
    const t1 = performance.now();
    const measured = await engine.measureAll(schedules);
    const t2 = performance.now();
    let failed = 0;
    measured.forEach((m, i) => {
      if (m.status === "ok" && m.timing) {
        samples.push({ workload: name, trace: schedules[i].text(), ms: m.timing.medianMs });
      } else failed++;
    });
    out(
      `${name} ${size}: ${schedules.length} distinct schedules in ${((t1 - t0) / 1000).toFixed(1)} s, ` +
        `measured in ${((t2 - t1) / 1000).toFixed(1)} s (${failed} failed)`,
    );
  }
  if (values.save) {
    mkdirSync(dirname(values.save), { recursive: true });
    writeFileSync(values.save, JSON.stringify(samples, null, 1) + "\n");
    out(`saved to ${values.save}`);
  }
}

// Schedules parsed once (the models cache features per schedule object).
const byWorkload = new Map<string, { schedule: Schedule; ms: number }[]>();
for (const name of workloads) {
  const program = instantiate(name, size);
  byWorkload.set(
    name,
    samples
      .filter((s) => s.workload === name)
      .map((s) => ({ schedule: Schedule.fromTrace(program, parseTrace(s.trace)), ms: s.ms })),
  );
}

interface Part {
  train: { schedule: Schedule; ms: number }[];
  test: { schedule: Schedule; ms: number }[];
}

/** Seeded split number `r`: 2/3 train, 1/3 held out, per workload. */
function splitOf(r: number): Map<string, Part> {
  const random = new Random(seed * 7919 + r);
  const parts = new Map<string, Part>();
  for (const [name, all] of byWorkload) {
    const order = all.map((x) => ({ x, k: random.next() })).sort((a, b) => a.k - b.k);
    const cut = Math.round((2 * all.length) / 3);
    parts.set(name, {
      train: order.slice(0, cut).map((o) => o.x),
      test: order.slice(cut).map((o) => o.x),
    });
  }
  return parts;
}

let lastRetrainMs = 0;
let lastRetrainSamples = 0;
function train(parts: Map<string, Part>, names: readonly string[]): LearnedCostModel {
  const model = new LearnedCostModel({ profile, seed });
  for (const name of names) {
    const p = parts.get(name)!;
    // Online, in batches of 8 as a search would report trials.
    for (let i = 0; i < p.train.length; i += 8) {
      const t = performance.now();
      model.observe(p.train.slice(i, i + 8));
      lastRetrainMs = performance.now() - t;
      lastRetrainSamples = model.sampleCount;
    }
  }
  return model;
}

const nSplits = Math.max(1, Number(values.splits));
const rho = new Map<string, { analytic: number[]; own: number[]; all: number[] }>();
for (const name of [...workloads, "pooled"]) rho.set(name, { analytic: [], own: [], all: [] });
for (let r = 0; r < nSplits; r++) {
  const parts = splitOf(r);
  const joint = train(parts, workloads);
  const pooled = { analytic: [] as number[], all: [] as number[], measured: [] as number[] };
  for (const name of workloads) {
    const { test } = parts.get(name)!;
    const own = train(parts, [name]);
    const measured = test.map((t) => t.ms);
    const analytic = test.map((t) => analyticEstimateMs(t.schedule, profile));
    const all = test.map((t) => joint.predictMs(t.schedule));
    const entry = rho.get(name)!;
    entry.analytic.push(spearman(analytic, measured));
    entry.own.push(
      spearman(
        test.map((t) => own.predictMs(t.schedule)),
        measured,
      ),
    );
    entry.all.push(spearman(all, measured));
    pooled.analytic.push(...analytic);
    pooled.all.push(...all);
    pooled.measured.push(...measured);
  }
  rho.get("pooled")!.analytic.push(spearman(pooled.analytic, pooled.measured));
  rho.get("pooled")!.all.push(spearman(pooled.all, pooled.measured));
}

const fmt = (v: number[]) => {
  if (v.length === 0) return "-".padStart(20);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return `${mean.toFixed(3)} [${Math.min(...v).toFixed(2)}, ${Math.max(...v).toFixed(2)}]`.padStart(
    20,
  );
};
out("");
out(
  `Spearman rank correlation of predicted vs measured time on the held-out 1/3, mean [min, max] over ${nSplits} seeded 2/3-1/3 splits:`,
);
out(
  `workload   samples  ${"analytic".padStart(20)}  ${"learned (own)".padStart(20)}  ${"learned (all)".padStart(20)}`,
);
for (const [name, v] of rho) {
  const n = name === "pooled" ? samples.length : byWorkload.get(name)!.length;
  if (name === "pooled" && workloads.length < 2) continue;
  out(
    `${name.padEnd(10)} ${String(n).padStart(7)}  ${fmt(v.analytic)}  ${fmt(v.own)}  ${fmt(v.all)}`,
  );
}
for (const name of workloads) {
  const ms = byWorkload.get(name)!.map((x) => x.ms);
  out(`${name}: measured ${Math.min(...ms).toFixed(4)} .. ${Math.max(...ms).toFixed(3)} ms`);
}
out(
  "learned (own): trained on the workload's 2/3 only; learned (all): one model trained on every workload's 2/3.",
);
out(`last retrain: ${lastRetrainSamples} samples in ${lastRetrainMs.toFixed(1)} ms`);

/** Every verified trial of `colt tune --out` directories (summary.json + trials.jsonl), once per trace. */
function samplesOfRuns(dirs: readonly string[]): Sample[] {
  const seen = new Set<string>();
  const out: Sample[] = [];
  for (const dir of dirs) {
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
      workload: string;
      size: string;
    };
    if (summary.size !== size) {
      throw new Error(`${dir} is a run at size '${summary.size}'; pass --size ${summary.size}`);
    }
    const lines = readFileSync(join(dir, "trials.jsonl"), "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      const t = JSON.parse(line) as { trace: string; verified?: boolean; ms?: number };
      const key = `${summary.workload}\n${t.trace}`;
      if (!t.verified || t.ms === undefined || seen.has(key)) continue;
      seen.add(key);
      out.push({ workload: summary.workload, trace: t.trace, ms: t.ms });
    }
  }
  return out;
}
