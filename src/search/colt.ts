/**
 * The COLT search (docs/design.md, "One iteration"): one tree shared by every proposal
 * model. Each iteration selects a node with the model-aware policy, lets the node's model
 * propose a joint action (transformation steps + the model that expands the child),
 * applies course alteration when small models keep regressing, evaluates the child
 * (measured time, else the cost model), backpropagates, and measures the most promising
 * unmeasured nodes when a round is full. With one model and no model choice it is the
 * single-model MCTS baseline (the Reasoning Compiler).
 */
import { legalMoves } from "../schedule/enumerate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { Random } from "../util/random.ts";
import { ProposerAccounting } from "./accounting.ts";
import { applySteps } from "./apply-steps.ts";
import { proposalContext } from "./context.ts";
import {
  DEFAULT_COURSE_ALTERATION_K,
  keepFaster,
  RegressionStreak,
  rejectedProposal,
  type GrownChild,
} from "./course-alteration.ts";
import { frontierModel } from "./frontier-rule.ts";
import { MeasuredEscalation, type DueAlteration } from "./measured-escalation.ts";
import { MeasurementRounds, ROUND_LENGTH } from "./measure-round.ts";
import type { ModelStats } from "./model-stats.ts";
import { DEFAULT_POLICY, exhausted, phiOf, selectPath, type PolicyParams } from "./policy.ts";
import {
  ProposerError,
  type JointAction,
  type ProposalContext,
  type Proposer,
} from "./proposer.ts";
import { randomLegalTrace } from "./random-trace.ts";
import type { TuningSession } from "./session.ts";
import { TreeNode } from "./tree.ts";

export interface ColtOptions {
  readonly proposers: readonly Proposer[];
  readonly policy?: Partial<PolicyParams>;
  /** Every K-th regression of a smaller model's streak triggers course alteration; 0 disables it. */
  readonly courseAlterationK?: number;
  /**
   * What counts as a smaller model's regression: "predicted" (default) judges its child
   * when it is created, on the best-known times, and the largest model answers at once;
   * "measured" judges it once a round measured it against its measured parent
   * (measured-escalation.ts).
   */
  readonly escalation?: "predicted" | "measured";
  /**
   * Shared measurement rounds: the share of each round's measurements reserved for the
   * smaller models' best predicted children (default 0). A smaller model's child measured
   * faster than its parent is then expanded by that model, not the largest.
   */
  readonly smallerShare?: number;
  /**
   * Which model expands a node: "proposer" (default) the one the proposer named with the
   * child; "frontier" cheap by default, the largest near the run's best where the cheap
   * models' last children did not improve (frontier-rule.ts).
   */
  readonly nextModelRule?: "proposer" | "frontier";
  /**
   * Also end a measurement round once this proposer cost is spent, in calls of the largest
   * model (a call costs its model's size over the largest size); none by default.
   */
  readonly roundCost?: number;
  /** Expansions between measurement rounds. Default: ROUND_LENGTH. */
  readonly expansionsPerRound?: number;
  /** Nodes measured per round. */
  readonly measurePerRound?: number;
  /** Share of a round's measurements drawn at random (among nodes predicted close to the best: measure-choice.ts). */
  readonly epsilon?: number;
  /** Random legal moves appended before predicting a child's value (0: none). */
  readonly rolloutSteps?: number;
  /** The model that expands the root; default: the largest. */
  readonly rootModel?: string;
  /** Single-model MCTS: every node is expanded by the root model, no model choice. */
  readonly singleModel?: boolean;
  readonly onIteration?: (e: ExpansionEvent) => void;
}

export interface ExpansionEvent {
  readonly iteration: number;
  readonly model: string;
  readonly courseAlteration: boolean;
  readonly replaced: boolean;
  readonly trace: string;
  readonly childScore: number;
  readonly parentScore: number;
  /** Best-known times (measured, else predicted) when the child was created. */
  readonly childMs: number;
  readonly parentMs: number;
  readonly errors: number;
}

export interface ColtResult {
  readonly models: ModelStats[];
  readonly expansions: ExpansionEvent[];
  readonly iterations: number;
  readonly treeSize: number;
  readonly courseAlterations: number;
  /** True when every proposer failed and the run continued on fallbacks. */
  readonly allModelsFailing: boolean;
  /** True when the search stopped early: its rounds kept finding only programs already measured. */
  readonly stalled: boolean;
  /** Proposer calls weighted by their model's size over the largest size (calls of the largest model). */
  readonly proposerCost: number;
}

/** Shown as the proposer of a schedule grafted from the tuning database. */
export const KNOWN_SCHEDULE_SOURCE = "database";

export class ColtSearch {
  private readonly policy: PolicyParams;
  private readonly random: Random;
  private readonly accounting: ProposerAccounting;
  private readonly phi: (m: string) => number;
  private readonly streak: RegressionStreak;
  private readonly measuredEscalation?: MeasuredEscalation;
  private readonly expansions: ExpansionEvent[] = [];
  private nextId = 0;
  private courseAlterations = 0;

  constructor(
    private readonly session: TuningSession,
    private readonly options: ColtOptions,
    seed: number,
  ) {
    this.accounting = new ProposerAccounting(options.proposers, session.options.budget);
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
    this.random = new Random(seed ^ 0xc017);
    this.phi = phiOf(this.accounting.sizes);
    this.streak = new RegressionStreak(options.courseAlterationK ?? DEFAULT_COURSE_ALTERATION_K);
    if (options.escalation === "measured" && !options.singleModel && this.streak.k > 0)
      this.measuredEscalation = new MeasuredEscalation(this.streak);
    if (options.rootModel && !this.accounting.has(options.rootModel)) {
      throw new Error(
        `root model '${options.rootModel}' is not in the bucket (${this.accounting.names().join(", ")})`,
      );
    }
  }

  /**
   * `known`: schedules from the tuning database, already measured in this session; each
   * becomes a child of the root, so the tree extends the best known programs.
   */
  async run(root: Schedule, known: readonly Schedule[] = []): Promise<ColtResult> {
    const s = this.session;
    const rootNode = this.measuredRoot(root);
    for (const schedule of known) this.graftKnown(rootNode, schedule);
    const rounds = new MeasurementRounds(s, rootNode, this.random, this.roundOptions(), (n) =>
      this.afterMeasured(n),
    );
    let iteration = 0;
    while (!s.done && !rounds.stalled) {
      if (!this.accounting.budgetLeft() || exhausted(rootNode)) {
        // Proposing has ended: the remaining trials measure the tree.
        if (!(await rounds.measure(s.trialsLeft))) break;
        continue;
      }
      const due = this.measuredEscalation?.next();
      if (due) {
        await this.alterOnMeasurement(due, ++iteration);
        await rounds.afterExpansion(this.accounting.cost);
        continue;
      }
      const path = selectPath(rootNode, this.policy, this.phi, this.accounting.sizes);
      const child = await this.expandWithCourseAlteration(path[path.length - 1], ++iteration);
      if (child) this.backpropagate(path, child, this.evaluate(child));
      await rounds.afterExpansion(this.accounting.cost);
    }
    return {
      models: this.accounting.all(),
      expansions: this.expansions,
      iterations: iteration,
      treeSize: [...rootNode.walk()].length,
      courseAlterations: this.courseAlterations,
      allModelsFailing: this.accounting.allFailing(),
      stalled: rounds.stalled,
      proposerCost: this.accounting.cost,
    };
  }

  /** The unscheduled program, measured as the baseline, expanded by the root model. */
  private measuredRoot(root: Schedule): TreeNode {
    const baselineMs = this.session.options.baselineMs;
    const rootModel = this.options.rootModel ?? this.accounting.largest;
    const node = new TreeNode(this.nextId++, root, undefined, rootModel, undefined, baselineMs);
    node.measuredMs = baselineMs;
    node.ownValue = this.session.score(baselineMs);
    node.visits = 1;
    node.valueSum = node.ownValue;
    return node;
  }

  private roundOptions() {
    return {
      cost: this.options.roundCost,
      expansions: this.options.expansionsPerRound ?? ROUND_LENGTH.expansions,
      measurePerRound: this.options.measurePerRound,
      epsilon: this.options.epsilon,
      smallerShare: this.options.singleModel ? 0 : this.options.smallerShare,
      largest: this.accounting.largest,
    };
  }

  /** A measured node: judged for measured escalation; with shared rounds, a cheap model's gain stays with it. */
  private afterMeasured(node: TreeNode): void {
    this.measuredEscalation?.measured(node);
    const by = node.proposedBy;
    const { largest } = this.accounting;
    if (!this.options.smallerShare || this.options.singleModel || !by || by === largest) return;
    if (!this.accounting.has(by) || node.model !== largest) return;
    if (!node.failed && node.measuredMs! < (node.parent?.bestKnownMs ?? Infinity)) node.model = by;
  }

  /**
   * Measured escalation: the largest model expands the node where a smaller model's child
   * measured slower, told what was rejected; both children stay (the regressed one is
   * measured, and its value is already in the tree).
   */
  private async alterOnMeasurement(due: DueAlteration, iteration: number): Promise<void> {
    const by = due.first.child.proposedBy!;
    this.courseAlterations++;
    this.accounting.statsOf(by).alterationsCaused++;
    const rejected = { ...rejectedProposal(this.session, due.node, due.first), model: by };
    const alternative = await this.expand(
      due.node,
      this.accounting.largest,
      "course-alteration",
      iteration,
      rejected,
    );
    if (alternative) {
      const path = [...due.node.ancestors(), due.node];
      this.backpropagate(path, alternative.child, this.evaluate(alternative.child));
    }
  }

  /** The model that expands `node` now: the node's own, or the frontier rule's choice. */
  private modelFor(node: TreeNode): string {
    if (this.options.nextModelRule !== "frontier" || this.options.singleModel) return node.model;
    const s = this.session;
    return frontierModel(node, {
      largest: this.accounting.largest,
      bestMs: Math.min(s.best?.ms ?? Infinity, s.options.baselineMs),
      cheap: this.accounting.bestHitRateModel(this.accounting.largest),
    });
  }

  /** A known schedule as a child of the root, with its measured value, expanded next by the root's model. */
  private graftKnown(root: TreeNode, schedule: Schedule): void {
    const text = schedule.text();
    if (text === root.schedule.text() || root.children.some((c) => c.schedule.text() === text))
      return;
    const child = new TreeNode(
      this.nextId++,
      schedule,
      root,
      root.model,
      KNOWN_SCHEDULE_SOURCE,
      this.session.predictMs(schedule),
    );
    this.recordMeasurement(child);
    child.ownValue = this.evaluate(child);
    child.visits = 1;
    child.valueSum = child.ownValue;
    root.visits += 1;
    root.valueSum += child.ownValue;
    root.children.push(child);
  }

  /** Expansion by the node's model, then course alteration by the largest model when due. */
  private async expandWithCourseAlteration(
    node: TreeNode,
    iteration: number,
  ): Promise<TreeNode | undefined> {
    const model = this.modelFor(node);
    const first = await this.expand(node, model, "expand", iteration);
    if (!first) return undefined;
    const firstEvent = this.expansions.length - 1;
    const { largest } = this.accounting;
    if (this.options.singleModel || this.streak.k <= 0 || model === largest) return first.child;
    if (this.measuredEscalation) {
      if (first.created) this.measuredEscalation.watch(first);
      return first.child;
    }
    if (!this.streak.due(node, first.child) || !this.accounting.budgetLeft()) return first.child;
    this.courseAlterations++;
    this.accounting.statsOf(model).alterationsCaused++;
    const rejected = { ...rejectedProposal(this.session, node, first), model };
    const alternative = await this.expand(node, largest, "course-alteration", iteration, rejected);
    if (keepFaster(node, first, alternative) === "first") return first.child;
    this.expansions[firstEvent] = { ...this.expansions[firstEvent], replaced: true };
    return alternative!.child;
  }

  /** One proposer call at `node`: the joint action's steps applied with fallbacks, the child added. */
  private async expand(
    node: TreeNode,
    model: string,
    purpose: ProposalContext["purpose"],
    iteration: number,
    rejected?: ProposalContext["rejected"],
  ): Promise<GrownChild | undefined> {
    const stats = this.accounting.statsOf(model);
    this.accounting.charge(model, purpose);
    const { action, failed } = await this.propose(node, model, purpose, rejected);
    const applied = applySteps(node.schedule, action.steps, (sch) => this.randomMove(sch));
    let errors = applied.errors;
    let nextModel = this.options.singleModel ? node.model : action.nextModel;
    if (!this.accounting.has(nextModel)) {
      // A failed call is one error, not also an unknown model name.
      if (!failed) errors++;
      nextModel = this.accounting.bestHitRateModel();
    }
    const { largest } = this.accounting;
    if (
      this.options.nextModelRule === "frontier" &&
      nextModel === largest &&
      !this.options.singleModel
    )
      nextModel = model !== largest ? model : this.accounting.bestHitRateModel(largest);
    stats.errors += errors;
    const schedule = applied.schedule;
    if (schedule.text() === node.schedule.text()) {
      // The node was just expanded, so its legal moves are usually still kept.
      const moves = this.session.recentLegalMoves.of(node, () =>
        legalMoves(node.schedule, this.session.moveOptions()),
      );
      node.terminal = moves.length === 0;
      return undefined;
    }
    const existing = node.children.find((c) => c.schedule.text() === schedule.text());
    const child =
      existing ??
      new TreeNode(
        this.nextId++,
        schedule,
        node,
        nextModel,
        model,
        this.session.predictMs(schedule),
        purpose === "course-alteration",
      );
    if (existing) node.duplicates++;
    else {
      this.recordMeasurement(child);
      node.children.push(child);
    }
    // A child grown from fallbacks after a failed call is not the model's hit.
    if (child.bestKnownMs < node.bestKnownMs && !child.failed && !failed) stats.hits++;
    this.expansions.push({
      iteration,
      model,
      courseAlteration: purpose === "course-alteration",
      replaced: false,
      trace: schedule.text(),
      childScore: this.session.score(child.bestKnownMs),
      parentScore: this.session.score(node.bestKnownMs),
      childMs: child.bestKnownMs,
      parentMs: node.bestKnownMs,
      errors,
    });
    this.options.onIteration?.(this.expansions[this.expansions.length - 1]);
    return { child, action, created: !existing };
  }

  /** The model's joint action; a failed call (ProposerError) is an empty one. */
  private async propose(
    node: TreeNode,
    model: string,
    purpose: ProposalContext["purpose"],
    rejected: ProposalContext["rejected"],
  ): Promise<{ action: JointAction; failed: boolean }> {
    const proposer = this.accounting.proposer(model);
    try {
      const ctx = proposalContext(this.session, this.accounting, node, purpose, rejected);
      const proposal = await this.session.clock.time("proposing", () => proposer.propose(ctx));
      this.accounting.settle(model, false, proposal.usage);
      return { action: proposal.action, failed: false };
    } catch (e) {
      if (!(e instanceof ProposerError)) throw e;
      this.accounting.settle(model, true, e.usage);
      return { action: { steps: [], nextModel: "" }, failed: true };
    }
  }

  /** The session's earlier measurement of the node's program, if any. */
  private recordMeasurement(node: TreeNode): void {
    const m = this.session.measurementOf(node.schedule);
    if (m?.verified && m.timing) node.measuredMs = m.timing.medianMs;
    else if (m) node.failed = true;
  }

  private randomMove(schedule: Schedule): Schedule | undefined {
    const moves = legalMoves(schedule, this.session.moveOptions());
    return moves.length > 0 ? this.random.pick(moves).schedule : undefined;
  }

  /** Value of a new child: measured score, else predicted (optionally after a rollout). */
  private evaluate(child: TreeNode): number {
    if (child.failed) return 0;
    const s = this.session;
    let value = s.score(child.bestKnownMs);
    const steps = this.options.rolloutSteps ?? 0;
    if (steps > 0 && child.measuredMs === undefined) {
      const end = randomLegalTrace(child.schedule, steps, this.random, s.moveOptions());
      value = Math.max(value, s.score(s.predictMs(end)));
    }
    return value;
  }

  /** The child's value, with one visit, added to every node on the selected path and to the child. */
  private backpropagate(path: readonly TreeNode[], child: TreeNode, value: number): void {
    child.ownValue = value;
    for (const n of [...path, child]) {
      n.visits += 1;
      n.valueSum += value;
    }
  }
}
