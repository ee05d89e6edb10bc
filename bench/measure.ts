/**
 * Measurement engine figures:
 *  1. stability: one schedule measured 10 times in a row (spread within and across runs);
 *  2. build throughput: distinct candidates built from a cold cache, candidates/s;
 *  3. overhead per candidate: wall time of a measurement beyond the timed kernel runs.
 *
 *   npm run bench:measure -- [--workload matmul] [--size paper] [--runs 10] [--candidates 24]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateC } from "../src/codegen/generate.ts";
import { buildBinary } from "../src/measure/build.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { median } from "../src/measure/stats.ts";
import { Schedule } from "../src/schedule/schedule.ts";
import { parseTrace } from "../src/schedule/text.ts";
import { randomTrace } from "../test/schedule/random-traces.ts";
import { instantiate, parseShapeOverrides, type SizeName } from "../src/workloads/registry.ts";
import pLimit from "p-limit";

const { values } = parseArgs({
  options: {
    workload: { type: "string", default: "matmul" },
    size: { type: "string", default: "paper" },
    shape: { type: "string", default: "" },
    schedule: { type: "string", default: "examples/schedules/matmul-1024.sched" },
    runs: { type: "string", default: "10" },
    candidates: { type: "string", default: "24" },
  },
});
const compiler = detectCompiler();
const cacheDir = mkdtempSync(join(tmpdir(), "colt-bench-"));
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

// 1. Stability.
const program = instantiate(
  values.workload,
  values.size as SizeName,
  parseShapeOverrides(values.shape),
);
const schedule = Schedule.fromTrace(program, parseTrace(readFileSync(values.schedule, "utf8")));
const engine = new MeasurementEngine({ compiler, cacheDir, minMs: 300 });
const medians: number[] = [];
const spreads: number[] = [];
for (let r = 0; r < Number(values.runs); r++) {
  const m = await engine.measure(schedule);
  if (!m.timing) throw new Error(`measurement failed: ${m.status} ${m.detail ?? ""}`);
  medians.push(m.timing.medianMs);
  spreads.push(m.timing.spread);
}
const mid = median(medians);
process.stdout.write(
  `stability: ${values.workload} ${values.size} (${values.schedule}), ${medians.length} measurements in a row\n`,
);
process.stdout.write(`  medians (ms): ${medians.map((x) => x.toFixed(3)).join(" ")}\n`);
process.stdout.write(`  median of the within-run spreads (IQR/median): ${pct(median(spreads))}\n`);
process.stdout.write(
  `  across runs: (max-min)/median ${pct((Math.max(...medians) - Math.min(...medians)) / mid)}\n`,
);

// 2. Build throughput on all cores, cold cache, distinct small-matmul candidates.
const small = instantiate("matmul", "small");
const sources = new Set<string>();
for (let seed = 1; sources.size < Number(values.candidates) && seed < 10_000; seed++) {
  sources.add(generateC(randomTrace(small, seed, 6).schedule.lower()).source);
}
const limit = pLimit(cpus().length);
const t0 = performance.now();
await Promise.all([...sources].map((src) => limit(() => buildBinary(src, compiler, { cacheDir }))));
const buildSeconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `build throughput: ${sources.size} distinct small-matmul candidates on ${cpus().length} cores in ${buildSeconds.toFixed(2)} s = ${(sources.size / buildSeconds).toFixed(2)} candidates/s\n`,
);

// 3. Overhead per candidate: cached build, minimal timing, small matmul.
const quick = new MeasurementEngine({ compiler, cacheDir, minMs: 1, warmup: 1 });
const overheads: number[] = [];
for (let seed = 1; overheads.length < 20; seed++) {
  const s = randomTrace(small, seed, 6).schedule;
  await quick.measure(s);
  const t = performance.now();
  const m = await quick.measure(s);
  const wall = performance.now() - t;
  if (m.timing) overheads.push(wall - (m.timing.reps + 2) * m.timing.medianMs);
}
process.stdout.write(
  `measure overhead per candidate (small matmul, cached build, excluding kernel runs): median ${median(overheads).toFixed(1)} ms\n`,
);
