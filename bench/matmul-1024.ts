/**
 * Does the schedule space contain fast programs? Measures the shipped BLIS-style schedule
 * examples/schedules/matmul-1024.sched on one core, alternating with OpenBLAS sgemm
 * (when installed) so both see the same machine state.
 *
 *   npm run bench:matmul -- [--rounds 5] [--threads 1]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { flopCount } from "../src/ir/program.ts";
import { openBlasAvailable, timeSgemm } from "../src/measure/blas.ts";
import { cacheDir } from "../src/measure/cache-dir.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { MeasurementEngine } from "../src/measure/engine.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { median } from "../src/measure/stats.ts";
import { Schedule } from "../src/schedule/schedule.ts";
import { parseTrace } from "../src/schedule/text.ts";
import { instantiate } from "../src/workloads/registry.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, threads: { type: "string", default: "1" } },
});
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const shape = { M: 1024, N: 1024, K: 1024 };
const program = instantiate("matmul", "paper", shape);
const schedule = Schedule.fromTrace(
  program,
  parseTrace(readFileSync("examples/schedules/matmul-1024.sched", "utf8")),
);
const compiler = detectCompiler();
const dir = cacheDir();
const profile = await machineProfile(compiler, dir);
const engine = new MeasurementEngine({ compiler, cacheDir: dir, threads, minMs: 1000 });
const flops = flopCount(program);
const blas = openBlasAvailable(compiler);

const colt: number[] = [];
const openblas: number[] = [];
for (let r = 0; r < rounds; r++) {
  const m = await engine.measure(schedule);
  if (!m.verified || !m.timing) throw new Error(`schedule failed: ${m.status} ${m.detail ?? ""}`);
  colt.push(flops / (m.timing.medianMs * 1e6));
  if (blas) {
    const times = await timeSgemm(shape, {
      compiler,
      cacheDir: dir,
      threads,
      minMs: 1000,
      cpus: engine.pinnedCpus(),
    });
    openblas.push(flops / (median(times) * 1e6));
  }
  process.stdout.write(
    `round ${r + 1}: COLT ${colt[r].toFixed(1)} GFLOP/s${blas ? `, OpenBLAS ${openblas[r].toFixed(1)} GFLOP/s` : ""}\n`,
  );
}
const coltMedian = median(colt);
const peak = (profile.peakFlopsPerCore * threads) / 1e9;
process.stdout.write(`\nmatmul 1024^3, ${threads} thread(s), ${compiler.version}\n`);
process.stdout.write(
  `COLT schedule  median ${coltMedian.toFixed(1)} GFLOP/s (${((coltMedian / peak) * 100).toFixed(1)}% of ${peak.toFixed(0)} GFLOP/s peak), verified\n`,
);
if (blas) {
  const blasMedian = median(openblas);
  process.stdout.write(
    `OpenBLAS sgemm median ${blasMedian.toFixed(1)} GFLOP/s; COLT / OpenBLAS = ${(coltMedian / blasMedian).toFixed(2)}\n`,
  );
} else {
  process.stdout.write(
    "OpenBLAS not installed (apt-get install libopenblas-dev) - no external reference\n",
  );
}
