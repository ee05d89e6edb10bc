/**
 * How offline proposers pick the model that expands the child: the one with the lowest
 * observed proposer cost per hit. A call costs its model's size over the largest size, and
 * a smaller model also pays for the course alterations its regressions triggered (each a
 * call of the largest model). Cheap models take the work while their proposals hold up; a
 * model that keeps regressing costs as much as the largest one and loses it. The largest
 * model's share of the calls (course alterations included) is kept between a floor and a
 * cap: below the floor it takes the child, since its proposals are the strongest and the
 * cheap models' hit counts do not weigh how much a hit gains; above the cap it is never
 * picked. A little seeded exploration keeps every model's statistics alive.
 */
import type { Random } from "../../util/random.ts";
import type { ModelStatsView } from "../../search/proposer.ts";

/** The largest model's share of the calls is kept between these bounds. */
const LARGEST_FLOOR = 0.2;
const LARGEST_SHARE = 0.25;

/**
 * `escalate`: the proposer ran out of ideas for this node; hand the child to the largest
 * model when its share allows.
 */
export function chooseNextModel(
  models: readonly ModelStatsView[],
  random: Random,
  exploration = 0.1,
  escalate = false,
): string {
  const bySize = [...models].sort((a, b) => a.size - b.size);
  const largest = bySize[bySize.length - 1];
  const total = models.reduce((n, m) => n + m.calls, 0);
  const largestAllowed = bySize.length === 1 || largest.calls < LARGEST_SHARE * (total + 1);
  if (escalate && largestAllowed) return largest.name;
  if (largest.calls < LARGEST_FLOOR * total) return largest.name;
  const eligible = largestAllowed ? bySize : bySize.slice(0, -1);
  if (random.next() < exploration) return random.pick(eligible).name;
  return eligible
    .map((m) => ({ name: m.name, cost: costPerHit(m, largest.size) }))
    .reduce((best, m) => (m.cost < best.cost ? m : best)).name;
}

/** Proposer cost per hit in calls of the largest model, smoothed (an untried model: 1 hit in 2 calls). */
export function costPerHit(m: ModelStatsView, largestSize: number): number {
  return ((m.size / largestSize) * (m.calls + 2) + m.alterationsCaused) / (m.hits + 1);
}
