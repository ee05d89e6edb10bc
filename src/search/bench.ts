/**
 * Strategies side by side at equal trial budgets on one machine profile: every workload
 * × seed × strategy is one tuning run; the table gives per workload and strategy the
 * median over seeds. Each run's best is a minimum over noisy measurements, so once a
 * workload's runs are done, every run's best and the unscheduled program can be measured
 * again side by side, in alternating rounds; the table then compares those times.
 * A strategy may also be a variant: a named configuration of one (its own bucket, COLT
 * options), which is how `npm run bench:fidelity` runs single-model MCTS with the mid-size
 * proposer and the COLT ablations.
 * Used by `colt bench`, `npm run bench:search` and `npm run bench:fidelity`.
 */
import { LearnedCostModel } from "../costmodel/learned.ts";
import { flopCount, type Program } from "../ir/program.ts";
import type { MeasurementEngine } from "../measure/engine.ts";
import type { MachineProfile } from "../measure/profile.ts";
import { median, quantile, type TimingSummary } from "../measure/stats.ts";
import type { Proposer } from "./proposer.ts";
import { Schedule } from "../schedule/schedule.ts";
import type { PhaseClock } from "../util/phase-clock.ts";
import type { ColtOptions } from "./colt.ts";
import type { TrialRecord } from "./trials.ts";
import { STRATEGIES, type StrategyName } from "./strategies.ts";
import { tune, type TuneResult } from "./tune.ts";

/**
 * Single-model MCTS held to as many proposer calls as the same seed's COLT run gave its
 * largest model: COLT's claim is to do more with fewer large-model calls, so this compares
 * the two at equal large-model cost (trials stay equal too, though MCTS may run out of
 * unmeasured nodes first).
 */
export const EQUAL_CALLS_MCTS = "mcts-equal-calls";
export type BenchStrategy = StrategyName | typeof EQUAL_CALLS_MCTS;
export const BENCH_STRATEGIES: readonly BenchStrategy[] = [...STRATEGIES, EQUAL_CALLS_MCTS];

/** One configuration the bench runs: a strategy with its own bucket or COLT options. */
export interface BenchVariant {
  /** Shown in tables and reports, e.g. "mcts-mid" or "colt-lambda-0". */
  readonly name: string;
  readonly strategy: StrategyName;
  /** Its proposers; default: the bench's. */
  readonly proposers?: (seed: number) => readonly Proposer[];
  readonly colt?: Partial<ColtOptions>;
  /** Held to as many proposer calls as the same seed's run named "colt" gave its largest model. */
  readonly equalCalls?: boolean;
}

/** The variant a bench strategy name stands for. */
export function benchVariant(strategy: BenchStrategy): BenchVariant {
  return strategy === EQUAL_CALLS_MCTS
    ? { name: strategy, strategy: "mcts", equalCalls: true }
    : { name: strategy, strategy };
}

export interface BenchRunHooks {
  readonly engine: Pick<MeasurementEngine, "measure" | "measureAll">;
  /** The engine's clock, so the run's wall time splits into building, measuring, proposing. */
  readonly clock?: PhaseClock;
  readonly onTrial?: (t: TrialRecord) => void;
  readonly onBaseline?: (ms: number, rooflineMs: number) => void;
  readonly done?: (r: TuneResult) => void;
}

export interface BenchRemeasure {
  /** Measures with a longer minimum time than the runs' engines. */
  readonly engine: Pick<MeasurementEngine, "measure">;
  /** Alternating rounds over the unscheduled program and every run's best. */
  readonly rounds: number;
  readonly done?: (workload: string, unscheduledMs: number, runs: readonly BenchRun[]) => void;
}

export interface BenchOptions {
  readonly programs: readonly { readonly workload: string; readonly program: Program }[];
  /** In order; EQUAL_CALLS_MCTS (any equalCalls variant) must come after colt. */
  readonly strategies: readonly (BenchStrategy | BenchVariant)[];
  readonly seeds: readonly number[];
  readonly trials: number;
  readonly profile: MachineProfile;
  readonly threads: number;
  readonly proposers: (seed: number) => readonly Proposer[];
  /** The engine (and bookkeeping) of one run. */
  readonly run: (
    workload: string,
    program: Program,
    variant: BenchVariant,
    seed: number,
  ) => BenchRunHooks;
  readonly remeasure?: BenchRemeasure;
}

export interface BenchRun {
  readonly workload: string;
  /** The variant's name. */
  readonly strategy: string;
  readonly seed: number;
  readonly flops: number;
  readonly result: TuneResult;
  /** The proposer-call budget the run was held to (mcts-equal-calls only). */
  readonly proposerCalls?: number;
  /**
   * Set when re-measured: the run's best and the unscheduled program, side by side (medians
   * of the rounds' medians), and the best's fastest repetition over all rounds.
   */
  readonly remeasured?: {
    readonly bestMs: number;
    readonly bestMinMs: number;
    readonly unscheduledMs: number;
  };
}

export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchError";
  }
}

/**
 * Refuses a strategy list the bench cannot run, before anything is measured: unknown
 * names, or mcts-equal-calls without colt before it (its budget comes from that run).
 */
export function checkBenchStrategies(strategies: readonly string[]): BenchStrategy[] {
  for (const s of strategies)
    if (!(BENCH_STRATEGIES as readonly string[]).includes(s))
      throw new BenchError(`unknown strategy '${s}' (strategies: ${BENCH_STRATEGIES.join(", ")})`);
  const known = strategies as BenchStrategy[];
  checkVariants(known.map(benchVariant));
  return known;
}

/** Refuses an equal-calls variant without a colt run before it (its budget comes from that run). */
function checkVariants(variants: readonly BenchVariant[]): void {
  const names = variants.map((v) => v.name);
  const equalCalls = variants.findIndex((v) => v.equalCalls);
  if (equalCalls >= 0 && !names.slice(0, equalCalls).includes("colt"))
    throw new BenchError(
      `${variants[equalCalls].name} takes its call budget from the colt run of the same seed: list colt before it in the strategies`,
    );
}

export async function runBench(o: BenchOptions): Promise<BenchRun[]> {
  const variants = o.strategies.map((s) => (typeof s === "string" ? benchVariant(s) : s));
  checkVariants(variants);
  const runs: BenchRun[] = [];
  for (const { workload, program } of o.programs) {
    const ofWorkload: BenchRun[] = [];
    for (const seed of o.seeds) {
      for (const variant of variants) {
        const proposerCalls = variant.equalCalls ? coltLargestCalls(ofWorkload, seed) : undefined;
        const hooks = o.run(workload, program, variant, seed);
        const result = await tune({
          program,
          strategy: variant.strategy,
          seed,
          budget: { trials: o.trials, ...(proposerCalls !== undefined ? { proposerCalls } : {}) },
          engine: hooks.engine,
          profile: o.profile,
          threads: o.threads,
          proposers: (variant.proposers ?? o.proposers)(seed),
          costModel: new LearnedCostModel({ profile: o.profile, seed, threads: o.threads }),
          ...(variant.colt ? { colt: variant.colt } : {}),
          ...(hooks.clock ? { clock: hooks.clock } : {}),
          onTrial: hooks.onTrial,
          onBaseline: hooks.onBaseline,
        });
        hooks.done?.(result);
        ofWorkload.push({
          workload,
          strategy: variant.name,
          seed,
          flops: flopCount(program),
          result,
          ...(proposerCalls !== undefined ? { proposerCalls } : {}),
        });
      }
    }
    runs.push(
      ...(o.remeasure && o.remeasure.rounds > 0
        ? await remeasure(workload, program, ofWorkload, o.remeasure)
        : ofWorkload),
    );
  }
  return runs;
}

/** Calls of the largest model in this seed's COLT run (checkBenchStrategies ran it first). */
function coltLargestCalls(runs: readonly BenchRun[], seed: number): number {
  const colt = runs.find((r) => r.strategy === "colt" && r.seed === seed)!;
  return largestModelOf(colt.result).calls;
}

function largestModelOf(result: TuneResult): TuneResult["models"][number] {
  return [...result.models].sort((a, b) => b.info.size - a.info.size)[0];
}

/** The unscheduled program and every run's best, measured again in alternating rounds. */
async function remeasure(
  workload: string,
  program: Program,
  runs: readonly BenchRun[],
  r: BenchRemeasure,
): Promise<BenchRun[]> {
  const schedules = [
    Schedule.initial(program),
    ...runs.map((run) => run.result.best?.schedule ?? Schedule.initial(program)),
  ];
  const timings: TimingSummary[][] = schedules.map(() => []);
  for (let round = 0; round < r.rounds; round++) {
    for (const [i, schedule] of schedules.entries()) {
      const m = await r.engine.measure(schedule);
      if (!m.verified || !m.timing) {
        const what =
          i === 0
            ? "the unscheduled program"
            : `the best of ${runs[i - 1].strategy} seed ${runs[i - 1].seed}`;
        throw new BenchError(
          `re-measuring ${what} on ${workload} failed: ${m.status} ${m.detail ?? ""}`.trim(),
        );
      }
      timings[i].push(m.timing);
    }
  }
  const medianOf = (t: readonly TimingSummary[]) => median(t.map((x) => x.medianMs));
  const unscheduledMs = medianOf(timings[0]);
  const out = runs.map((run, i) => ({
    ...run,
    remeasured: {
      bestMs: medianOf(timings[i + 1]),
      bestMinMs: Math.min(...timings[i + 1].map((x) => x.minMs)),
      unscheduledMs,
    },
  }));
  r.done?.(workload, unscheduledMs, out);
  return out;
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
  readonly strategy: string;
  readonly seeds: number;
  /** Medians over seeds; re-measured times when the bench re-measured. */
  readonly bestMs: number | null;
  /**
   * Median over seeds of each re-measured best's fastest repetition: on a machine whose
   * speed drifts over seconds (another tenant's load), interference only slows a run down,
   * so the minimum repeats where the median does not. Null when not re-measured.
   */
  readonly bestMinMs: number | null;
  /** Interquartile range of the best times over seeds (0 with one seed). */
  readonly bestMsIqr: number | null;
  readonly speedup: number | null;
  readonly gflops: number | null;
  readonly peakFraction: number | null;
  readonly trialsTo90: number | null;
  /** The unscheduled program re-measured side by side with the bests, when it was. */
  readonly unscheduledMs: number | null;
  /** Median proposer calls per model (COLT, mcts). */
  readonly calls: Readonly<Record<string, number>>;
  /** Median share of the proposer calls that went to the largest model (several models only). */
  readonly largestShare: number | null;
  /** Median proposer cost in calls of the largest model (tree searches only): see proposerCostOf. */
  readonly proposerCost: number | null;
  /** Median wall time of a run, its baseline included. */
  readonly wallMs: number;
}

const med = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
};

const iqr = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? quantile(v, 0.75) - quantile(v, 0.25) : null;
};

function bestMsOf(r: BenchRun): number | null {
  return r.remeasured?.bestMs ?? r.result.best?.ms ?? null;
}

function speedupOf(r: BenchRun): number | null {
  if (r.remeasured) return r.remeasured.unscheduledMs / r.remeasured.bestMs;
  return r.result.best ? r.result.baselineMs / r.result.best.ms : null;
}

/** Share of the proposer calls that went to the largest model (several models only). */
export function largestShareOf(r: Pick<BenchRun, "result">): number | null {
  const models = r.result.models;
  const calls = models.reduce((n, m) => n + m.calls, 0);
  if (models.length < 2 || calls === 0) return null;
  return largestModelOf(r.result).calls / calls;
}

/**
 * What a run spent on proposers, in calls of the largest model: each call weighs its
 * model's size over the largest size, as the search itself counts it between measurement
 * rounds. Searches with different buckets compare on this, not on raw call counts.
 */
export function proposerCostOf(r: Pick<BenchRun, "result">): number | null {
  return r.result.proposerCost;
}

/** One run as a point of the quality-against-proposer-cost chart. */
export interface RunPoint {
  readonly workload: string;
  readonly strategy: string;
  readonly seed: number;
  /** Over the unscheduled program, re-measured side by side when the bench re-measured. */
  readonly speedup: number;
  /** In calls of the largest model; 0 for searches without proposers. */
  readonly proposerCost: number;
}

/** Every run with a verified best, as a chart point. */
export function runPoints(runs: readonly BenchRun[]): RunPoint[] {
  return runs.flatMap((r) => {
    const speedup = speedupOf(r);
    return speedup === null
      ? []
      : [
          {
            workload: r.workload,
            strategy: r.strategy,
            seed: r.seed,
            speedup,
            proposerCost: proposerCostOf(r) ?? 0,
          },
        ];
  });
}

export function benchTable(runs: readonly BenchRun[], peakFlops: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const keys = [...new Set(runs.map((r) => `${r.workload}\u0000${r.strategy}`))];
  for (const key of keys) {
    const group = runs.filter((r) => `${r.workload}\u0000${r.strategy}` === key);
    const { workload, strategy, flops } = group[0];
    const bestMs = med(group.map(bestMsOf));
    const models = [...new Set(group.flatMap((r) => r.result.models.map((m) => m.info.name)))];
    rows.push({
      workload,
      strategy,
      seeds: group.length,
      bestMs,
      bestMinMs: med(group.map((r) => r.remeasured?.bestMinMs ?? null)),
      bestMsIqr: iqr(group.map(bestMsOf)),
      speedup: med(group.map(speedupOf)),
      gflops: bestMs !== null ? flops / (bestMs * 1e6) : null,
      peakFraction: bestMs !== null ? flops / (bestMs * 1e-3) / peakFlops : null,
      trialsTo90: med(group.map((r) => trialsTo90(r.result))),
      unscheduledMs: group[0].remeasured?.unscheduledMs ?? null,
      calls: Object.fromEntries(
        models.map((name) => [
          name,
          med(group.map((r) => r.result.models.find((m) => m.info.name === name)?.calls ?? 0)) ?? 0,
        ]),
      ),
      largestShare: med(group.map(largestShareOf)),
      proposerCost: med(group.map(proposerCostOf)),
      wallMs: median(group.map((r) => r.result.wall.totalMs)),
    });
  }
  return rows;
}
