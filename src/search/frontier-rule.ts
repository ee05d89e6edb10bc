/**
 * The frontier next-model rule (ColtOptions.nextModelRule = "frontier"): which model
 * expands a node is decided by the search, not by the proposers' choice. Cheap by
 * default; the largest model only at a node near the best time known so far where the
 * smaller models' last children did not improve on it. Elsewhere the largest model's
 * calls are spent where the cheap ones are not yet seen to fail.
 */
import type { TreeNode } from "./tree.ts";

/** A node is near the frontier when its best-known time is at most this much slower than the run's best. */
export const NEAR_FRONTIER = 1.1;

/** The last children at a node, all smaller models', that must fail to improve on it before the largest model expands it. */
export const CHEAP_TRIES = 2;

export interface FrontierView {
  readonly largest: string;
  /** The run's best measured time (the unscheduled program's before any trial). */
  readonly bestMs: number;
  /** The smaller model that stands in where the proposer or the node named the largest. */
  readonly cheap: string;
}

/** The model that expands `node` now. */
export function frontierModel(node: TreeNode, view: FrontierView): string {
  const nearFrontier = node.bestKnownMs <= NEAR_FRONTIER * view.bestMs;
  if (nearFrontier && cheapTriesFailed(node, view.largest)) return view.largest;
  return node.model === view.largest ? view.cheap : node.model;
}

/**
 * The node's last CHEAP_TRIES children are all smaller models' and none is faster than the
 * node: the largest model gets one call, then the cheap models try again.
 */
function cheapTriesFailed(node: TreeNode, largest: string): boolean {
  const last = node.children.slice(-CHEAP_TRIES);
  if (last.length < CHEAP_TRIES) return false;
  return last.every(
    (c) =>
      c.proposedBy !== undefined &&
      c.proposedBy !== largest &&
      (c.failed || c.bestKnownMs >= node.bestKnownMs),
  );
}
