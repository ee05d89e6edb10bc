/**
 * What the search measures through, locally or remotely (as TVM's Builder/Runner): the
 * MeasurementEngine on this machine, a queue of workers (src/distributed/), the tuning
 * database's recording wrapper or a replay of recorded measurements.
 */
import type { Measurement } from "./engine.ts";
import type { Schedule } from "../schedule/schedule.ts";

export interface Runner {
  measure(schedule: Schedule): Promise<Measurement>;
  /** Measures several candidates; each result arrives (and may be recorded) on its own. */
  measureAll(schedules: readonly Schedule[]): Promise<Measurement[]>;
  /**
   * Measures anew what `measure` may answer from a record of an earlier measurement (a
   * tune's final round); runners without records measure anew in `measure` itself.
   */
  measureAgain?(schedule: Schedule): Promise<Measurement>;
  /** Keeps the time a tune's final round settled on for a measured candidate, or its failure. */
  settle?(schedule: Schedule, outcome: SettledTime): void;
}

/** A final round's outcome for one candidate: its median over all its measurements, or why one failed. */
export type SettledTime = { readonly ms: number } | { readonly failure: string };
