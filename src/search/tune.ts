/**
 * One tuning run of any strategy on equal terms: the unscheduled program is measured
 * first (the baseline, not counted as a trial), then the strategy spends the trial
 * budget through a shared TuningSession.
 */
import type { CostModel } from "../costmodel/cost-model.ts";
import { compulsoryTraffic, flopCount, type Program } from "../ir/program.ts";
import type { Runner } from "../measure/runner.ts";
import type { MachineProfile } from "../measure/profile.ts";
import { rooflineSeconds } from "../measure/roofline.ts";
import type { Proposer } from "./proposer.ts";
import { Schedule } from "../schedule/schedule.ts";
import { KNOWN_SCHEDULE_SOURCE, type ColtOptions, type ExpansionEvent } from "./colt.ts";
import type { Target } from "../target/target.ts";
import type { ModelStats } from "./model-stats.ts";
import { PhaseClock, type WallSplit } from "../util/phase-clock.ts";
import { Random } from "../util/random.ts";
import { describeFailure, finalRound, type Finalist } from "./finalists.ts";
import { sharingTwin } from "./sharing-twin.ts";
import { parseTrace } from "../schedule/text.ts";
import { TuningSession } from "./session.ts";
import { STRATEGY_REGISTRY, type StrategyName } from "./strategies.ts";
import {
  BASELINE_TRIAL,
  SHARING_TWIN_SOURCE,
  type BestResult,
  type Budget,
  type TrialRecord,
} from "./trials.ts";

export class TuneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TuneError";
  }
}

export interface TuneOptions {
  readonly program: Program;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly budget: Budget;
  /** What measures: the local engine, a queue of workers, the database wrapper or a replay. */
  readonly engine: Runner;
  readonly profile: MachineProfile;
  readonly threads: number;
  /** What candidates are built for (the engine's compiler's target). */
  readonly target?: Target;
  readonly proposers: readonly Proposer[];
  readonly costModel: CostModel;
  readonly colt?: Partial<ColtOptions>;
  readonly onTrial?: (t: TrialRecord, session: TuningSession) => void;
  readonly onIteration?: (e: ExpansionEvent) => void;
  /** Called once the baseline is measured, before the strategy starts. */
  readonly onBaseline?: (ms: number, rooflineMs: number) => void;
  /**
   * Schedules known to be good (the tuning database's best for this workload): measured
   * first, as ordinary trials, so the run's best starts from them.
   */
  readonly known?: readonly Schedule[];
  /** Splits the run's wall time; give the engine the same clock to see building and measuring. */
  readonly clock?: PhaseClock;
  /**
   * The final round (src/search/finalists.ts): the `count` fastest verified trials measured
   * `rounds` times more, in turns, the best chosen on their medians. None without it.
   */
  readonly finalists?: { readonly count: number; readonly rounds: number };
}

export interface TuneResult {
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly baselineMs: number;
  readonly rooflineMs: number;
  /** The fastest verified program measured: a trial, or the unscheduled program (BASELINE_TRIAL). */
  readonly best: BestResult;
  readonly trials: readonly TrialRecord[];
  readonly models: readonly ModelStats[];
  readonly expansions: readonly ExpansionEvent[];
  readonly allModelsFailing: boolean;
  /** The tree search stopped before its budget: its proposals kept repeating measured programs. */
  readonly stalled: boolean;
  /**
   * Proposer calls weighted by their model's size over the largest size, as the tree
   * search counts them (colt, mcts); null for searches without proposers.
   */
  readonly proposerCost: number | null;
  readonly elapsedMs: number;
  /** The whole run's wall time (baseline included), split by phase. */
  readonly wall: WallSplit;
  /** The final round's finalists, fastest settled time first; empty without one. */
  readonly finalists: readonly Finalist[];
}

export async function tune(o: TuneOptions): Promise<TuneResult> {
  const clock = o.clock ?? new PhaseClock();
  const started = clock.split();
  const unscheduled = Schedule.initial(o.program);
  const baseline = await o.engine.measure(unscheduled);
  if (!baseline.verified || !baseline.timing) {
    throw new TuneError(
      `the unscheduled ${o.program.name} did not run: ${baseline.status} ${baseline.detail ?? ""}`,
    );
  }
  const baselineMs = baseline.timing.medianMs;
  // The first measured time calibrates the cost model before any candidate is ranked.
  o.costModel.observe([{ schedule: unscheduled, ms: baselineMs }]);
  const rooflineMs =
    rooflineSeconds(flopCount(o.program), compulsoryTraffic(o.program), o.profile, o.threads) *
    1000;
  o.onBaseline?.(baselineMs, rooflineMs);
  const unscheduledBest: BestResult = {
    schedule: unscheduled,
    ms: baselineMs,
    gflops: baseline.gflops ?? 0,
    trial: BASELINE_TRIAL,
  };
  const session: TuningSession = new TuningSession({
    program: o.program,
    strategy: o.strategy,
    runner: { measure: (schedules) => o.engine.measureAll(schedules) },
    costModel: o.costModel,
    budget: o.budget,
    baselineMs,
    rooflineMs,
    threads: o.threads,
    target: o.target,
    unscheduled: unscheduledBest,
    onTrial: (t) => o.onTrial?.(t, session),
    clock,
  });
  if (o.known && o.known.length > 0)
    await session.measure(o.known.map((schedule) => ({ schedule, model: KNOWN_SCHEDULE_SOURCE })));
  const outcome = await STRATEGY_REGISTRY[o.strategy].run({
    session,
    random: new Random(o.seed),
    known: o.known,
    seed: o.seed,
    proposers: o.proposers,
    colt: o.colt,
    onIteration: o.onIteration,
  });
  const twin = o.finalists ? await measureSharingTwin(session, o.threads) : undefined;
  // The known schedules are measured again whatever their first time: one measured in a
  // slow minute would otherwise lose to the search's lucky measurements.
  const knownTrials = session.trials
    .filter((t) => t.model === KNOWN_SCHEDULE_SOURCE)
    .map((t) => t.trial);
  const include = [...knownTrials, ...(twin !== undefined ? [twin] : [])];
  const finalists = o.finalists
    ? await finalRound({
        program: o.program,
        trials: session.trials,
        ...o.finalists,
        ...(include.length > 0 ? { include } : {}),
        measureAgain: (s) => (o.engine.measureAgain ?? o.engine.measure).call(o.engine, s),
      })
    : [];
  for (const f of finalists)
    o.engine.settle?.(
      f.schedule,
      f.failure !== undefined ? { failure: describeFailure(f.failure) } : { ms: f.ms },
    );
  return {
    strategy: o.strategy,
    seed: o.seed,
    baselineMs,
    rooflineMs,
    // The session starts from the unscheduled program: it always has a best.
    best:
      finalists.length > 0
        ? settledBest(o.program, session, finalists, unscheduledBest)
        : (session.best ?? unscheduledBest),
    trials: session.trials,
    models: outcome?.models ?? [],
    expansions: outcome?.expansions ?? [],
    allModelsFailing: outcome?.allModelsFailing ?? false,
    stalled: outcome?.stalled ?? false,
    proposerCost: outcome?.proposerCost ?? null,
    elapsedMs: session.elapsedMs(),
    wall: clock.since(started),
    finalists: [...finalists].sort((a, b) => a.ms - b.ms),
  };
}

/**
 * Measures the sharing twin of the session's best trial (past the budget) and returns its
 * trial number; undefined where it has none or it was measured during the search.
 */
async function measureSharingTwin(
  session: TuningSession,
  threads: number,
): Promise<number | undefined> {
  const best = session.best;
  const twin = best && sharingTwin(best.schedule, threads);
  if (!twin || session.measurementOf(twin)) return undefined;
  const before = session.trials.length;
  await session.measureBeyondBudget([{ schedule: twin, model: SHARING_TWIN_SOURCE }]);
  return session.trials.length > before ? session.trials[before].trial : undefined;
}

/**
 * The best after a final round, as the tuning database ranks a run's candidates: the lowest
 * settled time of the finalists, the unscheduled program first among equals. The trials
 * left out are not in the race: their single times were measured in another minute of a
 * drifting machine (a round in a slow minute handed a two-thread rmsnorm's run to the fifth
 * fastest trial, 328 us once, against its finalists' 456-465 us measured again). A finalist
 * that failed when measured again is out; when all did, the trials' own times decide.
 */
function settledBest(
  program: Program,
  session: TuningSession,
  finalists: readonly Finalist[],
  unscheduled: BestResult,
): BestResult {
  const settled = new Map(finalists.map((f) => [f.trial, f]));
  const anySettled = finalists.some((f) => f.failure === undefined);
  let best = unscheduled;
  for (const t of session.trials) {
    if (!t.verified || t.ms === undefined) continue;
    const f = settled.get(t.trial);
    if (anySettled && !f) continue;
    const ms = f?.ms ?? t.ms;
    if (ms >= best.ms) continue;
    const schedule = f?.schedule ?? Schedule.fromTrace(program, parseTrace(t.trace));
    const prepareMs = session.measurementOf(schedule)?.prepareMs;
    best = {
      schedule,
      ms,
      ...(prepareMs !== undefined ? { prepareMs } : {}),
      gflops: ((t.gflops ?? 0) * t.ms) / ms,
      trial: t.trial,
    };
  }
  return best;
}
