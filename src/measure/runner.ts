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
}
