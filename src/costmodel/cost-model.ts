/** What the search needs from a cost model: predictions, and learning from trials. */
import type { Schedule } from "../schedule/schedule.ts";

export interface CostSample {
  readonly schedule: Schedule;
  readonly ms: number;
}

export interface CostModel {
  /** Predicted run time in milliseconds (never NaN, always > 0). */
  predictMs(schedule: Schedule): number;
  /** Adds measured samples and retrains. */
  observe(samples: readonly CostSample[]): void;
  /** Number of measured samples learned from. */
  readonly sampleCount: number;
}
