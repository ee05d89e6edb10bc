/**
 * How much faster a program runs on several threads than on one, measured side by side:
 * the one-thread schedule on one core and the many-thread schedule on that many cores,
 * alternating over rounds, each output verified. On a machine whose speed drifts over
 * minutes (a shared virtual machine), the two times of one round fall in the same minute;
 * times taken minutes apart, as two rows of a benchmark table are, do not.
 */
import { programHash } from "../ir/hash.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Compiler } from "./compiler.ts";
import { MeasurementEngine } from "./engine.ts";
import { CandidateError } from "./errors.ts";
import { median, pooledRounds, type TimingSummary } from "./stats.ts";

export interface ScalingOptions {
  readonly compiler: Compiler;
  readonly cacheDir: string;
  readonly seed: number;
  /** Measuring time of each side, after warm-up, split over the rounds. */
  readonly minMs: number;
  readonly rounds: number;
  readonly runTimeoutMs?: number;
}

export interface Scaling {
  readonly threads: number;
  /** The median over rounds of the one-thread time over the many-thread time. */
  readonly ratio: number;
  /** Each round's ratio, in the order measured. */
  readonly roundRatios: readonly number[];
  readonly oneThread: TimingSummary;
  readonly manyThreads: TimingSummary;
  /** The cores of each side (taskset lists). */
  readonly cpus: { readonly oneThread: string; readonly manyThreads: string };
}

export async function measureScaling(
  oneThread: Schedule,
  manyThreads: Schedule,
  threads: number,
  o: ScalingOptions,
): Promise<Scaling> {
  if (!Number.isInteger(threads) || threads < 2)
    throw new RangeError(`scaling: threads must be an integer of at least 2, got ${threads}`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1)
    throw new RangeError(`scaling: rounds must be a positive integer, got ${o.rounds}`);
  if (programHash(oneThread.program) !== programHash(manyThreads.program))
    throw new RangeError(
      `scaling: the two schedules are of different programs (${oneThread.program.name} ` +
        `${JSON.stringify(oneThread.program.params)}, ${manyThreads.program.name} ` +
        `${JSON.stringify(manyThreads.program.params)}): compare schedules of one workload and shape`,
    );
  const engine = (t: number) =>
    new MeasurementEngine({
      compiler: o.compiler,
      cacheDir: o.cacheDir,
      threads: t,
      seed: o.seed,
      minMs: o.minMs / o.rounds,
      runTimeoutMs: o.runTimeoutMs,
    });
  const sides = [
    { engine: engine(1), schedule: oneThread, rounds: [] as TimingSummary[] },
    { engine: engine(threads), schedule: manyThreads, rounds: [] as TimingSummary[] },
  ];
  for (let round = 0; round < o.rounds; round++) {
    for (const side of sides) {
      const m = await side.engine.measure(side.schedule);
      if (m.status !== "ok" || !m.timing) {
        throw new CandidateError(
          m.status === "ok" ? "bad-output" : m.status,
          m.detail ?? "no timing",
          `${side.schedule.program.name} schedule on ${side.engine.pinnedCpus()}`,
        );
      }
      side.rounds.push(m.timing);
    }
  }
  const [one, many] = sides;
  const roundRatios = one.rounds.map((t, i) => t.medianMs / many.rounds[i].medianMs);
  return {
    threads,
    ratio: median(roundRatios),
    roundRatios,
    oneThread: pooledRounds(one.rounds),
    manyThreads: pooledRounds(many.rounds),
    cpus: { oneThread: one.engine.pinnedCpus(), manyThreads: many.engine.pinnedCpus() },
  };
}
