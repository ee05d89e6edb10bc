/**
 * How offline proposers pick the model that expands the child: the best smoothed hit
 * rate, discounted by model size so a cheap model with a similar record wins, with a
 * little seeded exploration.
 */
import type { Random } from "../../search/random.ts";
import type { ModelStatsView } from "../protocol.ts";

export function chooseNextModel(
  models: readonly ModelStatsView[],
  random: Random,
  exploration = 0.1,
): string {
  if (random.next() < exploration) return random.pick(models).name;
  const sizes = models.map((m) => Math.log(m.size));
  const [lo, hi] = [Math.min(...sizes), Math.max(...sizes)];
  const value = (m: ModelStatsView) => {
    const hitRate = (m.hits + 1) / (m.calls + 2);
    const relativeSize = hi > lo ? (Math.log(m.size) - lo) / (hi - lo) : 0;
    const errorRate = m.errors / (m.calls + 1);
    return hitRate - 0.15 * relativeSize - 0.5 * errorRate;
  };
  return [...models].sort((a, b) => value(b) - value(a) || a.size - b.size)[0].name;
}
