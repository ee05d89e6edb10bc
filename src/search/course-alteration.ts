/**
 * Course alteration (docs/design.md, step 4): when the smaller models keep regressing, the
 * largest model expands the same node, told what was rejected, and the faster of the two
 * children stays.
 */
import type { JointAction, ProposalContext } from "./proposer.ts";
import type { TuningSession } from "./session.ts";
import type { TreeNode } from "./tree.ts";

/**
 * Every K-th regression of a smaller model's streak calls the largest model (course
 * alteration). 4, not the published 2: over five seeds of all five layers at medium size it
 * cost 0.79-0.91 of K = 2's proposer cost with best times within the seeds' spread
 * (docs/benchmarks.md, "Course alteration with five seeds").
 */
export const DEFAULT_COURSE_ALTERATION_K = 4;

/** A child an expansion returned, and whether the expansion created it (or it existed before). */
export interface GrownChild {
  readonly child: TreeNode;
  readonly action: JointAction;
  readonly created: boolean;
}

/** One regression streak for all smaller models; K <= 0 disables course alteration. */
export class RegressionStreak {
  private length = 0;

  constructor(readonly k: number) {}

  /**
   * Records a smaller model's child (regression is judged on times: scores are clamped at
   * the unscheduled program's). True at every K-th regression in a row.
   */
  due(node: TreeNode, child: TreeNode): boolean {
    return this.record(child.bestKnownMs > node.bestKnownMs);
  }

  /** Records one judged child; true at every K-th regression in a row. */
  record(regressed: boolean): boolean {
    if (!regressed) {
      this.length = 0;
      return false;
    }
    this.length++;
    return this.length % this.k === 0;
  }
}

/** What the largest model is told about the smaller model's proposal. */
export function rejectedProposal(
  session: TuningSession,
  node: TreeNode,
  first: GrownChild,
): NonNullable<ProposalContext["rejected"]> {
  return {
    model: node.model,
    steps: first.action.steps,
    nextModel: first.action.nextModel,
    parentScore: session.score(node.bestKnownMs),
    childScore: session.score(first.child.bestKnownMs),
    parentMs: node.bestKnownMs,
    childMs: first.child.bestKnownMs,
  };
}

/**
 * Keeps the faster of the smaller model's child and the largest model's (ties go to the
 * largest) and removes the other from the node, unless it existed before this iteration:
 * then it is someone else's child too and stays.
 */
export function keepFaster(
  node: TreeNode,
  first: GrownChild,
  alternative: GrownChild | undefined,
): "first" | "alternative" {
  if (!alternative || alternative.child === first.child) return "first";
  const [kept, dropped] =
    alternative.child.bestKnownMs <= first.child.bestKnownMs
      ? (["alternative", first] as const)
      : (["first", alternative] as const);
  if (dropped.created) node.children.splice(node.children.indexOf(dropped.child), 1);
  return kept;
}
