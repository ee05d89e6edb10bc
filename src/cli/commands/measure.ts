/** `colt measure`: build, verify and time one schedule of a workload. */
import type { Command } from "commander";
import { compulsoryTraffic, flopCount, kernelFlopCount } from "../../ir/program.ts";
import { ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import { machineProfile } from "../../measure/profile.ts";
import {
  ABOVE_BOUND,
  footprintBandwidth,
  memoryBound,
  rooflineFraction,
  rooflineSeconds,
  rooflineSecondsBeside,
  type Traffic,
} from "../../measure/roofline.ts";
import type { MachineProfile, StreamFigures } from "../../measure/profile.ts";
import { withStreamsBeside } from "../../measure/stream-beside.ts";
import { openBlasAvailable, timeSgemm } from "../../measure/blas.ts";
import { median } from "../../measure/stats.ts";
import { UsageError } from "../errors.ts";
import { formatFlops, formatMs, percent } from "../../util/format.ts";
import {
  admitPrograms,
  loadProgram,
  loadSchedule,
  loadTarget,
  MAX_MEMORY_OPTION,
  parsePositiveInt,
  parseSize,
  parseThreads,
  TARGET_OPTION,
  type WorkloadOptions,
} from "../options.ts";
import { printOut } from "../output.ts";
import { isEmulated, runPrefix } from "../../target/target.ts";

interface MeasureOptions extends WorkloadOptions {
  schedule?: string;
  threads: number;
  seed: number;
  minMs: number;
  blas?: boolean;
  json?: boolean;
  maxMemory?: string;
  recalibrate?: boolean;
  target?: string;
}

export function registerMeasure(program: Command): void {
  program
    .command("measure")
    .description(
      "build, verify against the reference and time one schedule (the unscheduled program by default)",
    )
    .argument("<workload>", "workload name (see 'colt workloads')")
    .option("--size <size>", "small, medium or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option("--schedule <file>", "schedule file: one transformation per line")
    .option("--threads <n>", "cores to run on", parseThreads, 1)
    .option("--seed <n>", "seed of the random inputs", parsePositiveInt("--seed"), 1)
    .option(
      "--min-ms <ms>",
      "minimum measuring time after warm-up",
      parsePositiveInt("--min-ms"),
      300,
    )
    .option(
      "--blas",
      "also time OpenBLAS cblas_sgemm on the same shape (matmul, batch-matmul; needs libopenblas-dev)",
    )
    .option(...MAX_MEMORY_OPTION)
    .option("--json", "print one JSON object")
    .option("--recalibrate", "measure the machine profile (peak, bandwidths) again first")
    .option(...TARGET_OPTION)
    .action(async (workload: string, opts: MeasureOptions) => {
      const prog = loadProgram(workload, opts);
      const memoryLimit = admitPrograms([prog], opts.maxMemory);
      const schedule = loadSchedule(prog, opts.schedule);
      const target = loadTarget(opts.target);
      if (opts.blas && isEmulated(target))
        throw new UsageError(
          `--blas times OpenBLAS natively; it cannot run with --target ${target.name}`,
        );
      const compiler = detectCompiler(undefined, target);
      const dir = ensureCacheDir();
      // An emulated target verifies only: there is no peak to compare its times with.
      const profile = isEmulated(target)
        ? undefined
        : await machineProfile(compiler, dir, opts.recalibrate === true);
      const engine = new MeasurementEngine({
        compiler,
        cacheDir: dir,
        threads: opts.threads,
        seed: opts.seed,
        minMs: opts.minMs,
        memoryLimit,
      });
      const flops = flopCount(prog);
      // A rewrite such as winograd executes fewer operations than the workload defines.
      const executed = Math.min(flops, kernelFlopCount(schedule.state.program));
      const traffic = compulsoryTraffic(prog);
      const besideStreams =
        profile !== undefined && memoryBound(executed, traffic, profile, opts.threads);
      const { result: m, streams } = besideStreams
        ? await withStreamsBeside(
            traffic.readBytes + traffic.writtenBytes,
            target,
            { compiler, cacheDir: dir, threads: opts.threads, cpus: engine.pinnedCpus() },
            () => engine.measure(schedule),
          )
        : { result: await engine.measure(schedule), streams: undefined };
      const ms = m.timing?.medianMs;
      const timed = profile !== undefined && ms !== undefined;
      const peakFraction = timed
        ? executed / (ms * 1e-3) / (profile.peakFlopsPerCore * opts.threads)
        : undefined;
      const roofline = profile
        ? rooflineSeconds(executed, traffic, profile, opts.threads)
        : undefined;
      const beside =
        timed && roofline && streams !== undefined
          ? boundBeside(executed, traffic, profile, opts.threads, streams, roofline, ms)
          : undefined;
      const blasMs = opts.blas
        ? await timeOpenBlas(workload, prog.params, engine, opts)
        : undefined;
      const result = {
        workload,
        size: parseSize(opts.size),
        shape: prog.params,
        threads: opts.threads,
        target: target.name,
        emulated: isEmulated(target),
        status: m.status,
        verified: m.verified,
        ms: ms ?? null,
        minMs: m.timing?.minMs ?? null,
        spread: m.timing?.spread ?? null,
        reps: m.timing?.reps ?? 0,
        prepareMs: m.prepareMs ?? null,
        gflops: m.gflops ?? null,
        peakFraction: peakFraction ?? null,
        rooflineFraction: timed && roofline ? rooflineFraction(roofline * 1e3, ms) : null,
        aboveRoofline: timed && roofline ? ms < roofline * 1e3 : false,
        boundBeside: beside ?? null,
        error: m.error ?? null,
        detail: m.detail ?? null,
        compiler: m.compiler.version,
        flags: m.compiler.flags.join(" "),
        trace: schedule.text(),
        ...(blasMs !== undefined
          ? { openblasMs: blasMs, openblasGflops: flops / (blasMs * 1e6) }
          : {}),
      };
      if (opts.json) {
        printOut(JSON.stringify(result) + "\n");
      } else {
        const shape = Object.entries(prog.params)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ");
        const out = [
          `${workload} (${shape}), ${formatFlops(flops)}, ${opts.threads} thread${opts.threads > 1 ? "s" : ""}, ${schedule.trace.length} transformations`,
          `  target    ${target.name}${isEmulated(target) ? ` (emulated: ${runPrefix(target).join(" ")})` : ""}`,
          `  compiler  ${m.compiler.version} ${m.compiler.flags.join(" ")}`,
        ];
        if (m.timing && isEmulated(target)) {
          out.push(
            `  time      ${formatMs(m.timing.medianMs)} under emulation: not a time of ${target.name}; time it on ${target.isa.arch} hardware`,
          );
        }
        if (
          m.timing &&
          m.gflops !== undefined &&
          peakFraction !== undefined &&
          profile &&
          roofline
        ) {
          out.push(
            `  time      ${formatMs(m.timing.medianMs)} median of ${m.timing.reps} (min ${formatMs(m.timing.minMs)}, spread ${percent(m.timing.spread)})`,
            ...(m.prepareMs !== undefined
              ? [
                  `  prepare   ${formatMs(m.prepareMs)} once, before the timed runs (not in the time)`,
                ]
              : []),
            `  speed     ${m.gflops.toFixed(1)} GFLOP/s${executed < flops ? ` effective (${formatFlops(executed)} executed)` : ""} = ${percent(peakFraction)} of peak (${((profile.peakFlopsPerCore * opts.threads) / 1e9).toFixed(0)} GFLOP/s), ${result.rooflineFraction !== null ? `${percent(result.rooflineFraction)} of the roofline bound` : ABOVE_BOUND} (${formatMs(roofline * 1e3)})`,
          );
          if (beside) out.push(besideLine(beside));
        }
        out.push(
          `  verified  ${m.verified ? "yes" : "NO"}${m.error !== undefined ? ` (relative L2 error ${m.error.toExponential(1)})` : ""}`,
        );
        if (m.status !== "ok") out.push(`  failure   ${m.status}: ${m.detail ?? ""}`);
        if (blasMs !== undefined) {
          out.push(
            `  OpenBLAS  ${formatMs(blasMs)} = ${(flops / (blasMs * 1e6)).toFixed(1)} GFLOP/s (cblas_sgemm, same shape and cores)`,
          );
        }
        printOut(out.join("\n") + "\n");
      }
      if (m.status !== "ok") process.exitCode = 1;
    });
}

/** OpenBLAS on the same shape, for matmul-shaped workloads. */
async function timeOpenBlas(
  workload: string,
  params: Readonly<Record<string, number>>,
  engine: MeasurementEngine,
  opts: MeasureOptions,
): Promise<number> {
  if (workload !== "matmul" && workload !== "batch-matmul") {
    throw new UsageError(
      `--blas times cblas_sgemm, which only matches matmul and batch-matmul (not ${workload})`,
    );
  }
  const compiler = engine.options.compiler;
  if (!openBlasAvailable(compiler)) {
    throw new UsageError(
      "--blas needs OpenBLAS: install it (Debian: apt-get install libopenblas-dev)",
    );
  }
  const times = await timeSgemm(
    { M: params.M, N: params.N, K: params.K, batch: workload === "batch-matmul" ? params.B : 1 },
    {
      compiler,
      cacheDir: engine.options.cacheDir,
      threads: opts.threads,
      minMs: opts.minMs,
      cpus: engine.pinnedCpus(),
    },
  );
  return median(times);
}

/** The bound with the memory as fast as it streamed right before and after the run. */
interface BoundBeside {
  /** What the streams over the kernel's footprint moved, in its traffic's mix, GB/s. */
  readonly bandwidthGBs: number;
  /** The same from the calibrated profile. */
  readonly calibratedBandwidthGBs: number;
  readonly rooflineMs: number;
  /** The run's median against it; null where the kernel beat it. */
  readonly rooflineFraction: number | null;
}

/** `calibratedSeconds`: the calibrated bound, which the memory sets (memoryBound). */
function boundBeside(
  executed: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
  streams: StreamFigures,
  calibratedSeconds: number,
  ms: number,
): BoundBeside {
  const bytes = traffic.readBytes + traffic.writtenBytes;
  const rooflineMs = rooflineSecondsBeside(executed, traffic, profile, threads, streams) * 1e3;
  return {
    bandwidthGBs: footprintBandwidth(traffic, streams, threads) / 1e9,
    calibratedBandwidthGBs: bytes / calibratedSeconds / 1e9,
    rooflineMs,
    rooflineFraction: rooflineFraction(rooflineMs, ms),
  };
}

function besideLine(b: BoundBeside): string {
  const of =
    b.rooflineFraction !== null
      ? `${percent(b.rooflineFraction)} of it`
      : "the kernel beat it (the streams do not match its traffic)";
  return `  memory    streamed ${b.bandwidthGBs.toFixed(1)} GB/s around this run (${b.calibratedBandwidthGBs.toFixed(1)} at calibration): bound ${formatMs(b.rooflineMs)}, ${of}`;
}
