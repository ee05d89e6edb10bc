/**
 * Evolutionary search in the style of TVM's default tuner: a population of traces
 * evolves by mutation (append, drop or replace a step) and crossover, with the cost
 * model as fitness; each generation the most promising unmeasured candidates (plus an
 * ε-greedy random share) are measured, and the measurements train the cost model.
 */
import { Schedule } from "../../schedule/schedule.ts";
import { randomLegalMove, randomLegalTrace, takeRandom } from "../random-trace.ts";
import { applyAll, NestMemo, replay, type StrategyRun } from "./strategy.ts";

export interface EvolutionaryOptions {
  readonly populationSize?: number;
  /** Children bred per generation. */
  readonly childrenPerGeneration?: number;
  /** Candidates measured per generation ("the top few"). */
  readonly measurePerGeneration?: number;
  /** Share of the measured candidates drawn at random instead of by prediction. */
  readonly epsilon?: number;
  /** Probability that a child comes from crossover rather than mutation. */
  readonly crossoverRate?: number;
  /** Initial traces have 1..maxInitSteps random legal steps. */
  readonly maxInitSteps?: number;
  /** Appending stops at this trace length. */
  readonly maxTraceLength?: number;
  /** Tries per child before giving up on it (invalid or duplicate children). */
  readonly breedAttempts?: number;
  /** Generations in a row with nothing new to measure before the search stops. */
  readonly maxIdleGenerations?: number;
}

export const EVOLUTIONARY_DEFAULTS: Required<EvolutionaryOptions> = {
  populationSize: 16,
  childrenPerGeneration: 16,
  measurePerGeneration: 4,
  epsilon: 0.2,
  crossoverRate: 0.2,
  maxInitSteps: 8,
  maxTraceLength: 16,
  breedAttempts: 4,
  maxIdleGenerations: 8,
};

export async function evolutionarySearch(
  run: StrategyRun,
  options: EvolutionaryOptions = {},
): Promise<void> {
  const o = { ...EVOLUTIONARY_DEFAULTS, ...options };
  const { session, random } = run;
  const program = session.options.program;
  const start = Schedule.initial(program);
  const memo = new NestMemo(session);

  /**
   * Fitness (lower is better): the measured time of the loop nest, Infinity for failures,
   * else the prediction. Cached per generation, as the cost model learns in between.
   */
  let fitnessCache = new Map<Schedule, number>();
  const fitness = (s: Schedule): number => {
    let f = fitnessCache.get(s);
    if (f === undefined) {
      f = memo.outcome(s) ?? session.predictMs(s);
      fitnessCache.set(s, f);
    }
    return f;
  };

  /** Fresh random traces whose loop nests are not in `taken` (bounded number of draws). */
  const freshRandom = (n: number, taken: Set<string>): Schedule[] => {
    const out: Schedule[] = [];
    for (let tries = 0; out.length < n && tries < n * 4; tries++) {
      const s = randomLegalTrace(
        start,
        1 + random.int(o.maxInitSteps),
        random,
        session.moveOptions(),
      );
      const key = memo.key(s);
      if (s.trace.length === 0 || taken.has(key) || memo.measured(s)) continue;
      taken.add(key);
      out.push(s);
    }
    return out;
  };

  const moveOptions = session.moveOptions();
  const mutate = (parent: Schedule): Schedule | undefined => {
    const trace = parent.trace;
    const ops: ("append" | "drop" | "replace")[] = [];
    if (trace.length < o.maxTraceLength) ops.push("append");
    if (trace.length > 0) ops.push("drop", "replace");
    if (ops.length === 0) return undefined;
    const op = random.pick(ops);
    if (op === "append") return randomLegalMove(parent, random, moveOptions)?.schedule;
    const i = random.int(trace.length);
    if (op === "drop") return replay(program, [...trace.slice(0, i), ...trace.slice(i + 1)]);
    const prefix = replay(program, trace.slice(0, i));
    const step = prefix && randomLegalMove(prefix, random, moveOptions);
    return step && applyAll(step.schedule, trace.slice(i + 1));
  };

  const crossover = (a: Schedule, b: Schedule): Schedule | undefined => {
    const i = random.int(a.trace.length + 1);
    const j = random.int(b.trace.length + 1);
    const trace = [...a.trace.slice(0, i), ...b.trace.slice(j)].slice(0, o.maxTraceLength);
    return replay(program, trace);
  };

  /** Binary tournament on fitness. */
  const pickParent = (population: readonly Schedule[]): Schedule => {
    const a = random.pick(population);
    const b = random.pick(population);
    return fitness(b) < fitness(a) ? b : a;
  };

  const known = (run.known ?? []).slice(0, o.populationSize);
  let population = [
    ...known,
    ...freshRandom(o.populationSize - known.length, new Set(known.map((s) => memo.key(s)))),
  ];
  let idle = 0;
  while (!session.done) {
    fitnessCache = new Map();
    const taken = new Set(population.map((s) => memo.key(s)));
    if (population.length === 0) {
      population = freshRandom(o.populationSize, taken);
      if (population.length === 0) return;
    }
    const children: Schedule[] = [];
    for (let c = 0; c < o.childrenPerGeneration; c++) {
      for (let attempt = 0; attempt < o.breedAttempts; attempt++) {
        const child =
          population.length >= 2 && random.next() < o.crossoverRate
            ? crossover(pickParent(population), pickParent(population))
            : mutate(pickParent(population));
        if (!child || child.trace.length === 0 || taken.has(memo.key(child))) continue;
        taken.add(memo.key(child));
        children.push(child);
        break;
      }
    }
    const ranked = [...population, ...children].sort((a, b) => fitness(a) - fitness(b));
    // Failed candidates never survive; the population is refilled at random below.
    population = ranked.filter((s) => fitness(s) < Infinity).slice(0, o.populationSize);

    const rest = ranked.filter((s) => !memo.measured(s));
    const picks: Schedule[] = [];
    const n = Math.min(o.measurePerGeneration, session.trialsLeft);
    while (picks.length < n && rest.length > 0) {
      picks.push(random.next() < o.epsilon ? takeRandom(rest, random) : rest.shift()!);
    }
    if (picks.length === 0) {
      // Converged on measured traces: inject fresh blood, and stop if even that fails.
      if (++idle >= o.maxIdleGenerations) return;
      const fresh = freshRandom(Math.ceil(o.populationSize / 2), taken);
      population = [...population.slice(0, o.populationSize - fresh.length), ...fresh];
      continue;
    }
    idle = 0;
    await memo.measure(picks.map((schedule) => ({ schedule, predictedMs: fitness(schedule) })));
    population = population.filter((s) => memo.outcome(s) !== Infinity);
    if (population.length < o.populationSize) {
      population.push(...freshRandom(o.populationSize - population.length, taken));
    }
  }
}
