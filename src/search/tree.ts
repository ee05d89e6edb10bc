/** The search tree shared by every model: a node is a schedule (its trace is its identity). */
import type { Schedule } from "../schedule/schedule.ts";

export class TreeNode {
  readonly children: TreeNode[] = [];
  visits = 0;
  valueSum = 0;
  measuredMs?: number;
  /** Measured but failed or wrong: never best, value 0. */
  failed = false;
  predictedMs: number;
  /** The value this node contributed when it was evaluated (its own score). */
  ownValue = 0;
  /** No transformation can be applied any more. */
  terminal = false;
  /** Proposals at this node that repeated an existing child: they use up widening too. */
  duplicates = 0;

  constructor(
    readonly id: number,
    readonly schedule: Schedule,
    readonly parent: TreeNode | undefined,
    /** The model that will expand this node. */
    public model: string,
    /** The model whose proposal created this node (undefined for the root). */
    readonly proposedBy: string | undefined,
    predictedMs: number,
    readonly viaCourseAlteration = false,
  ) {
    this.predictedMs = predictedMs;
  }

  get q(): number {
    return this.visits === 0 ? 0 : this.valueSum / this.visits;
  }

  /** Measured time when measured, else the prediction. */
  get bestKnownMs(): number {
    return this.measuredMs ?? this.predictedMs;
  }

  get measured(): boolean {
    return this.measuredMs !== undefined || this.failed;
  }

  ancestors(): TreeNode[] {
    const out: TreeNode[] = [];
    for (let n = this.parent; n; n = n.parent) out.unshift(n);
    return out;
  }

  *walk(): Generator<TreeNode> {
    yield this;
    for (const c of this.children) yield* c.walk();
  }
}
