/**
 * How offline proposers pick the model that expands the child: the smallest model whose
 * record is good enough (smoothed hit rate, few errors), so cheap models do most of the
 * work; when none is, the largest model allowed — and the largest model only while it has
 * had less than its share of calls (it is also called for course alterations). A little
 * seeded exploration keeps every model's statistics alive.
 */
import type { Random } from "../../util/random.ts";
import type { ModelStatsView } from "../protocol.ts";

const GOOD_HIT_RATE = 0.3;
const LARGEST_SHARE = 0.2;

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
  const eligible = largestAllowed ? bySize : bySize.slice(0, -1);
  if (random.next() < exploration) return random.pick(eligible).name;
  const rate = (m: ModelStatsView) => (m.hits + 1) / (m.calls + 2);
  const good = eligible.find((m) => rate(m) >= GOOD_HIT_RATE && m.errors <= m.calls / 2);
  if (good) return good.name;
  // No small model has a good record: escalate to the largest one the share allows.
  return eligible[eligible.length - 1].name;
}
