/** `colt tune`: search for the fastest schedule of a workload. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { generateC } from "../../codegen/generate.ts";
import { emitKernel } from "../../codegen/c-kernel.ts";
import { LearnedCostModel } from "../../costmodel/learned.ts";
import { flopCount } from "../../ir/program.ts";
import { cacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import { machineProfile } from "../../measure/profile.ts";
import { offlineBucket } from "../../models/offline/proposers.ts";
import { STRATEGIES, tune, type StrategyName, type TuneResult } from "../../search/tune.ts";
import { UsageError } from "../errors.ts";
import { formatMs, percent } from "../format.ts";
import { loadProgram, parsePositiveInt, parseSize, type WorkloadOptions } from "../options.ts";

interface TuneCliOptions extends WorkloadOptions {
  strategy: string;
  trials: number;
  seed: number;
  threads: number;
  minMs: number;
  calls?: number;
  timeLimit?: number;
  patience?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTune(program: Command): void {
  program
    .command("tune")
    .description(
      "search for the fastest verified schedule (COLT with the offline bucket by default)",
    )
    .argument("<workload>", "workload name (see 'colt workloads')")
    .option("--size <size>", "small or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option("--strategy <name>", `one of ${STRATEGIES.join(", ")}`, "colt")
    .option(
      "--trials <n>",
      "measurement budget (one trial = one measured candidate)",
      parsePositiveInt("--trials"),
      64,
    )
    .option(
      "--seed <n>",
      "seed of every random choice and of the inputs",
      parsePositiveInt("--seed"),
      1,
    )
    .option("--threads <n>", "cores each candidate runs on", parsePositiveInt("--threads"), 1)
    .option(
      "--min-ms <ms>",
      "minimum measuring time per candidate",
      parsePositiveInt("--min-ms"),
      50,
    )
    .option("--calls <n>", "budget of proposer calls", parsePositiveInt("--calls"))
    .option("--time-limit <s>", "wall-time budget in seconds", parsePositiveInt("--time-limit"))
    .option(
      "--patience <rounds>",
      "stop after this many measurement rounds without improvement",
      parsePositiveInt("--patience"),
    )
    .option(
      "--out <dir>",
      "write the best kernel (C), its trace and the per-trial log (JSON lines) here",
    )
    .option("--json", "print one JSON object at the end, no progress")
    .option("--quiet", "no progress lines")
    .action(async (workload: string, opts: TuneCliOptions) => {
      if (!(STRATEGIES as readonly string[]).includes(opts.strategy)) {
        throw new UsageError(
          `unknown strategy '${opts.strategy}' (strategies: ${STRATEGIES.join(", ")})`,
        );
      }
      const strategy = opts.strategy as StrategyName;
      const prog = loadProgram(workload, opts);
      const compiler = detectCompiler();
      const dir = cacheDir();
      const profile = await machineProfile(compiler, dir);
      const engine = new MeasurementEngine({
        compiler,
        cacheDir: dir,
        threads: opts.threads,
        seed: opts.seed,
        minMs: opts.minMs,
      });
      const proposers = offlineBucket(opts.seed);
      const progress = !opts.json && !opts.quiet;
      let baselineMs = 0;
      const result = await tune({
        program: prog,
        strategy,
        seed: opts.seed,
        budget: {
          trials: opts.trials,
          proposerCalls: opts.calls,
          wallMs: opts.timeLimit !== undefined ? opts.timeLimit * 1000 : undefined,
          patience: opts.patience,
        },
        engine,
        profile,
        threads: opts.threads,
        proposers,
        costModel: new LearnedCostModel({ profile, seed: opts.seed, threads: opts.threads }),
        onBaseline: (ms) => {
          baselineMs = ms;
          if (progress) process.stderr.write(`baseline (unscheduled) ${formatMs(ms)}\n`);
        },
        onTrial: (t) => {
          if (!progress) return;
          const best =
            t.bestMs !== undefined
              ? `best ${formatMs(t.bestMs)} (${(baselineMs / t.bestMs).toFixed(1)}x)`
              : "no verified result yet";
          const what = t.verified ? formatMs(t.ms!) : t.status;
          process.stderr.write(
            `trial ${t.trial}/${opts.trials}  ${what.padEnd(12)} ${best}${t.model ? `  by ${t.model}` : ""}\n`,
          );
        },
      });
      const summary = summarize(
        workload,
        parseSize(opts.size),
        prog.params,
        result,
        flopCount(prog),
        profile.peakFlopsPerCore * opts.threads,
      );
      if (opts.out) writeRunDirectory(opts.out, result, summary);
      if (opts.json) process.stdout.write(JSON.stringify(summary) + "\n");
      else process.stdout.write(render(summary, result));
      if (!result.best) process.exitCode = 1;
    });
}

function summarize(
  workload: string,
  size: string,
  shape: Readonly<Record<string, number>>,
  r: TuneResult,
  flops: number,
  peak: number,
) {
  const bestMs = r.best?.ms ?? null;
  return {
    workload,
    size,
    shape,
    strategy: r.strategy,
    seed: r.seed,
    trials: r.trials.length,
    baselineMs: r.baselineMs,
    bestMs,
    speedup: bestMs ? r.baselineMs / bestMs : null,
    gflops: bestMs ? flops / (bestMs * 1e6) : null,
    peakFraction: bestMs ? flops / (bestMs * 1e-3) / peak : null,
    rooflineFraction: bestMs ? r.rooflineMs / bestMs : null,
    verified: r.best !== undefined,
    bestTrace: r.best?.schedule.text() ?? "",
    bestTrial: r.best?.trial ?? null,
    models: r.models.map((m) => m.toJSON()),
    allModelsFailing: r.allModelsFailing,
    elapsedMs: r.elapsedMs,
  };
}

type Summary = ReturnType<typeof summarize>;

function render(s: Summary, r: TuneResult): string {
  const lines = [
    `${s.workload} (${Object.entries(s.shape)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ", ",
      )}) ${s.strategy}, seed ${s.seed}, ${s.trials} trials in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  baseline  ${formatMs(s.baselineMs)} (unscheduled)`,
  ];
  if (s.bestMs !== null) {
    lines.push(
      `  best      ${formatMs(s.bestMs)} at trial ${s.bestTrial}, verified`,
      `  speedup   ${s.speedup!.toFixed(2)}x   ${s.gflops!.toFixed(1)} GFLOP/s = ${percent(s.peakFraction!)} of peak, ${percent(s.rooflineFraction!)} of roofline`,
    );
  } else {
    lines.push("  best      no verified candidate");
  }
  if (r.models.length > 0) {
    lines.push(
      "  models    calls  hits  errors  course-alt  (offline = built-in proposer, not an LLM)",
    );
    for (const m of r.models) {
      lines.push(
        `    ${`${m.info.name} [${m.info.kind}]`.padEnd(28)} ${String(m.calls).padStart(5)} ${String(m.hits).padStart(5)} ${String(m.errors).padStart(7)} ${String(m.courseAlterations).padStart(11)}`,
      );
    }
  }
  if (r.allModelsFailing)
    lines.push("  note      every model kept failing; the run continued on random legal moves");
  if (s.bestTrace)
    lines.push(
      "  best trace:",
      ...s.bestTrace
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`),
    );
  return lines.join("\n") + "\n";
}

function writeRunDirectory(dir: string, r: TuneResult, summary: Summary): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  writeFileSync(
    join(dir, "trials.jsonl"),
    r.trials.map((t) => JSON.stringify(t)).join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "expansions.jsonl"),
    r.expansions.map((e) => JSON.stringify(e)).join(r.expansions.length ? "\n" : "") +
      (r.expansions.length ? "\n" : ""),
  );
  if (r.best) {
    writeFileSync(join(dir, "best.sched"), r.best.schedule.text());
    writeFileSync(join(dir, "best-kernel.c"), emitKernel(r.best.schedule.lower()).code);
    writeFileSync(join(dir, "best-with-harness.c"), generateC(r.best.schedule.lower()).source);
  }
}
