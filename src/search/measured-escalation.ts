/**
 * Course alteration judged on measurements (ColtOptions.escalation = "measured"): a
 * smaller model's child counts as a regression only once it is measured slower than its
 * measured parent (or fails), not when the cost model predicts it slower. Every K-th
 * measured regression in a row queues one call of the largest model at that parent, told
 * what was rejected; the search makes it before its next selection.
 */
import type { GrownChild, RegressionStreak } from "./course-alteration.ts";
import type { TreeNode } from "./tree.ts";

/** A parent the largest model expands next, and the smaller model's child that regressed there. */
export interface DueAlteration {
  readonly node: TreeNode;
  readonly first: GrownChild;
}

export class MeasuredEscalation {
  /** Smaller models' children not yet judged, by node. */
  private readonly watched = new Map<TreeNode, GrownChild>();
  private readonly due: DueAlteration[] = [];

  constructor(private readonly streak: RegressionStreak) {}

  /** A smaller model's new child, judged once measured. */
  watch(grown: GrownChild): void {
    this.watched.set(grown.child, grown);
  }

  /**
   * After a measurement round measured `node`. A child whose parent has no measured time
   * cannot be judged on measurements and is left out of the streak.
   */
  measured(node: TreeNode): void {
    const grown = this.watched.get(node);
    if (!grown) return;
    this.watched.delete(node);
    const parentMs = node.parent?.measuredMs;
    if (parentMs === undefined) return;
    const regressed = node.failed || node.measuredMs! > parentMs;
    if (this.streak.record(regressed)) this.due.push({ node: node.parent!, first: grown });
  }

  /** The oldest alteration due, removed from the queue. */
  next(): DueAlteration | undefined {
    return this.due.shift();
  }
}
