/**
 * The headline comparison: per workload at paper size and per thread count, `colt tune`
 * (the library call: default strategy, offline proposers, its final round), then its best
 * schedule against the equivalent ONNX graph in ONNX Runtime (and OpenBLAS for matmul), side
 * by side.
 * Rewrites the headline table of docs/benchmarks.md in place (between its markers), and
 * keeps each row's tuned schedule (`<workload>-<threads>t.sched` in `--schedules`, by
 * default `bench-paper/` in COLT's cache directory) so a row can be measured again.
 *
 *   npm run bench:paper -- [--workloads a,b] [--threads 1,2] [--trials 64] [--min-ms 1000]
 *     [--rounds 3] [--doc docs/benchmarks.md] [--schedules DIR]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { format, resolveConfig } from "prettier";
import { compareWithOrt, type Comparison } from "../src/compare/compare.ts";
import { loadOrt } from "../src/compare/ort-load.ts";
import { LearnedCostModel } from "../src/costmodel/learned.ts";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { offlineBucket } from "../src/models/offline/proposers.ts";
import { shareOut } from "../src/schedule/share-out.ts";
import { Schedule } from "../src/schedule/schedule.ts";
import { tune } from "../src/search/tune.ts";
import { DEFAULT_FINALISTS, FINAL_ROUNDS } from "../src/search/finalists.ts";
import { checkMarkers, replaceBetweenMarkers } from "../src/util/doc-markers.ts";
import { instantiate, layerNames } from "../src/workloads/registry.ts";
import { compulsoryTraffic, flopCount, type Program } from "../src/ir/program.ts";
import {
  memoryBound,
  rooflineFraction,
  rooflineSeconds,
  rooflineSecondsBeside,
} from "../src/measure/roofline.ts";
import { measureScaling } from "../src/measure/scaling.ts";
import { withStreamsBeside } from "../src/measure/stream-beside.ts";
import { paperTable, type PaperRow } from "./paper-table.ts";

const WORKLOADS = [...layerNames(), "matmul", "rmsnorm", "layernorm", "softmax"];
const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: WORKLOADS.join(",") },
    threads: { type: "string", default: "1,2" },
    trials: { type: "string", default: "64" },
    seed: { type: "string", default: "1" },
    "tune-min-ms": { type: "string", default: "50" },
    "min-ms": { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
    doc: { type: "string", default: "docs/benchmarks.md" },
    schedules: { type: "string" },
  },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
try {
  checkMarkers(values.doc, ["bench:paper"]);
} catch (e) {
  process.stderr.write(`bench:paper: ${(e as Error).message}\n`);
  process.exit(2);
}
const compiler = detectCompiler();
const dir = cacheDir();
const schedulesDir = values.schedules ?? join(dir, "bench-paper");
mkdirSync(schedulesDir, { recursive: true });
const profile = await machineProfile(compiler, dir);
const ort = await loadOrt();

const rows: PaperRow[] = [];
for (const workload of values.workloads.split(",")) {
  const program = instantiate(workload, "paper");
  const tunedRows = new Map<number, TunedRow>();
  for (const threads of values.threads.split(",").map(Number)) {
    const engine = new MeasurementEngine({
      compiler,
      cacheDir: dir,
      threads,
      seed,
      minMs: Number(values["tune-min-ms"]),
      runTimeoutMs: 1_800_000,
    });
    // As `colt tune` with its database: a many-thread tune also starts from the one-thread best, shared out.
    const oneThreadBest = tunedRows.get(1)?.schedule;
    const sharedOut = oneThreadBest && shareOut(oneThreadBest, threads);
    const tuned = await tune({
      program,
      strategy: "colt",
      seed,
      budget: { trials },
      engine,
      profile,
      threads,
      proposers: offlineBucket(seed),
      costModel: new LearnedCostModel({ profile, seed, threads }),
      // As `colt tune` chooses its best.
      finalists: { count: DEFAULT_FINALISTS, rounds: FINAL_ROUNDS },
      ...(sharedOut ? { known: [sharedOut] } : {}),
    });
    const compare = () =>
      compareWithOrt({
        workload,
        schedule: tuned.best?.schedule ?? Schedule.initial(program),
        compiler,
        cacheDir: dir,
        threads,
        seed,
        minMs: Number(values["min-ms"]),
        rounds: Number(values.rounds),
      });
    const c = await compareBesideStreams(program, threads, engine.pinnedCpus(), compare);
    tunedRows.set(threads, { schedule: tuned.best.schedule, row: rows.push(c) - 1 });
    const scheduleFile = join(schedulesDir, `${workload}-${threads}t.sched`);
    writeFileSync(
      scheduleFile,
      `# bench:paper ${new Date().toISOString()}, seed ${seed}, ${trials} trials, ${threads} thread(s): ` +
        `${tuned.best.ms.toFixed(3)} ms in the tune, ${c.colt.medianMs.toFixed(3)} ms against ONNX Runtime\n` +
        tuned.best.schedule.text(),
    );
    process.stdout.write(
      `${workload} ${threads}T: COLT ${c.colt.medianMs.toFixed(3)} ms, ORT ${c.ort.medianMs.toFixed(3)} ms` +
        `${c.openblas ? `, OpenBLAS ${c.openblas.medianMs.toFixed(3)} ms` : ""}, COLT / ORT ${c.ratio.toFixed(2)} (fastest ${c.minRatio.toFixed(2)}) (${scheduleFile})\n`,
    );
  }
  await addScaling(workload, tunedRows);
}

/** A thread count's tuned best schedule, and its row of the table. */
interface TunedRow {
  readonly schedule: Schedule;
  readonly row: number;
}

/**
 * Each many-thread row's speed over the one-thread row's, both tuned schedules measured
 * again side by side in alternating rounds: the rows' own times are minutes apart.
 */
async function addScaling(
  workload: string,
  tunedRows: ReadonlyMap<number, TunedRow>,
): Promise<void> {
  const oneThread = tunedRows.get(1);
  if (!oneThread) return;
  for (const [threads, { schedule, row }] of tunedRows) {
    if (threads === 1) continue;
    const s = await measureScaling(oneThread.schedule, schedule, threads, {
      compiler,
      cacheDir: dir,
      seed,
      minMs: Number(values["min-ms"]),
      rounds: Number(values.rounds),
      runTimeoutMs: 1_800_000,
    });
    rows[row] = { ...rows[row], scaling: s };
    process.stdout.write(
      `${workload} ${threads}T over 1T side by side: ${s.ratio.toFixed(2)}x ` +
        `(${s.oneThread.medianMs.toFixed(3)} / ${s.manyThreads.medianMs.toFixed(3)} ms, rounds ${s.roundRatios.map((r) => r.toFixed(2)).join(" ")})\n`,
    );
  }
}

/**
 * The comparison, and where the memory sets the bound, COLT's median against the calibrated
 * bound and against the bound from the memory's streams timed right before and after it.
 */
async function compareBesideStreams(
  program: Program,
  threads: number,
  cpus: string,
  compare: () => Promise<Comparison>,
): Promise<PaperRow> {
  const traffic = compulsoryTraffic(program);
  const flops = flopCount(program);
  if (!memoryBound(flops, traffic, profile, threads)) return compare();
  const bytes = traffic.readBytes + traffic.writtenBytes;
  const run = { compiler, cacheDir: dir, threads, cpus };
  const { result: c, streams } = await withStreamsBeside(bytes, compiler.target, run, compare);
  const ms = c.colt.medianMs;
  const calibrated = rooflineSeconds(c.executedFlops, traffic, profile, threads) * 1e3;
  const beside = rooflineSecondsBeside(c.executedFlops, traffic, profile, threads, streams) * 1e3;
  return {
    ...c,
    memoryBound: {
      calibrated: rooflineFraction(calibrated, ms),
      beside: rooflineFraction(beside, ms),
    },
  };
}

const argv = process.argv.slice(2).join(" ");
const table = paperTable(
  {
    profile,
    compiler: compiler.version,
    ortVersion: ort.env.versions.node ?? "unknown",
    trials,
    date: new Date().toISOString().slice(0, 10),
    command: `npm run bench:paper${argv ? ` -- ${argv}` : ""}`,
  },
  rows,
);
process.stdout.write(`\n${table}\n`);
const doc = replaceBetweenMarkers(
  readFileSync(values.doc, "utf8"),
  "bench:paper",
  table,
  values.doc,
);
// Aligned as the repository's Prettier check (npm run lint) wants the table.
const prettierConfig = (await resolveConfig(values.doc)) ?? {};
writeFileSync(values.doc, await format(doc, { ...prettierConfig, filepath: values.doc }));
process.stdout.write(`wrote the table into ${values.doc}\n`);
