/**
 * Strategies side by side at equal trial budgets on one machine profile: every workload
 * × seed × strategy is one tuning run; the table gives per workload and strategy the
 * median over seeds. Used by `colt bench` (bench/search.ts predates it).
 */
import { LearnedCostModel } from "../costmodel/learned.ts";
import { flopCount, type Program } from "../ir/program.ts";
import type { MeasurementEngine } from "../measure/engine.ts";
import type { MachineProfile } from "../measure/profile.ts";
import { median } from "../measure/stats.ts";
import type { Proposer } from "../models/protocol.ts";
import type { TrialRecord } from "./trials.ts";
import { tune, type StrategyName, type TuneResult } from "./tune.ts";

export interface BenchRunHooks {
  readonly engine: Pick<MeasurementEngine, "measure" | "measureAll">;
  readonly onTrial?: (t: TrialRecord) => void;
  readonly onBaseline?: (ms: number, rooflineMs: number) => void;
  readonly done?: (r: TuneResult) => void;
}

export interface BenchOptions {
  readonly programs: readonly { readonly workload: string; readonly program: Program }[];
  readonly strategies: readonly StrategyName[];
  readonly seeds: readonly number[];
  readonly trials: number;
  readonly profile: MachineProfile;
  readonly threads: number;
  readonly proposers: (seed: number) => readonly Proposer[];
  /** The engine (and bookkeeping) of one run. */
  readonly run: (
    workload: string,
    program: Program,
    strategy: StrategyName,
    seed: number,
  ) => BenchRunHooks;
}

export interface BenchRun {
  readonly workload: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly flops: number;
  readonly result: TuneResult;
}

export async function runBench(o: BenchOptions): Promise<BenchRun[]> {
  const runs: BenchRun[] = [];
  for (const { workload, program } of o.programs) {
    for (const seed of o.seeds) {
      for (const strategy of o.strategies) {
        const hooks = o.run(workload, program, strategy, seed);
        const result = await tune({
          program,
          strategy,
          seed,
          budget: { trials: o.trials },
          engine: hooks.engine,
          profile: o.profile,
          threads: o.threads,
          proposers: o.proposers(seed),
          costModel: new LearnedCostModel({ profile: o.profile, seed, threads: o.threads }),
          onTrial: hooks.onTrial,
          onBaseline: hooks.onBaseline,
        });
        hooks.done?.(result);
        runs.push({ workload, strategy, seed, flops: flopCount(program), result });
      }
    }
  }
  return runs;
}

/** First trial whose best time is within 1/0.9 of the run's final best (90% of its speed). */
export function trialsTo90(result: TuneResult): number | null {
  const best = result.best?.ms;
  if (best === undefined) return null;
  const t = result.trials.find((x) => x.bestMs !== undefined && x.bestMs <= best / 0.9);
  return t?.trial ?? null;
}

export interface BenchRow {
  readonly workload: string;
  readonly strategy: StrategyName;
  readonly seeds: number;
  /** Medians over seeds. */
  readonly bestMs: number | null;
  readonly speedup: number | null;
  readonly gflops: number | null;
  readonly peakFraction: number | null;
  readonly trialsTo90: number | null;
  /** Median proposer calls per model (COLT, mcts). */
  readonly calls: Readonly<Record<string, number>>;
}

const med = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
};

export function benchTable(runs: readonly BenchRun[], peakFlops: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const keys = [...new Set(runs.map((r) => `${r.workload}\u0000${r.strategy}`))];
  for (const key of keys) {
    const group = runs.filter((r) => `${r.workload}\u0000${r.strategy}` === key);
    const { workload, strategy, flops } = group[0];
    const bestMs = med(group.map((r) => r.result.best?.ms ?? null));
    const models = [...new Set(group.flatMap((r) => r.result.models.map((m) => m.info.name)))];
    rows.push({
      workload,
      strategy,
      seeds: group.length,
      bestMs,
      speedup: med(
        group.map((r) => (r.result.best ? r.result.baselineMs / r.result.best.ms : null)),
      ),
      gflops: bestMs !== null ? flops / (bestMs * 1e6) : null,
      peakFraction: bestMs !== null ? flops / (bestMs * 1e-3) / peakFlops : null,
      trialsTo90: med(group.map((r) => trialsTo90(r.result))),
      calls: Object.fromEntries(
        models.map((name) => [
          name,
          med(group.map((r) => r.result.models.find((m) => m.info.name === name)?.calls ?? 0)) ?? 0,
        ]),
      ),
    });
  }
  return rows;
}
