/**
 * The COLT search (docs/design.md): one tree shared by every proposal model.
 * Each iteration selects a node with the model-aware policy, lets the node's model
 * propose a joint action (transformations + the model that expands the child), applies
 * course alteration when small models keep regressing, evaluates the child (measured
 * time, else the cost model), backpropagates, and periodically measures the most
 * promising unmeasured nodes. With one model and no model choice it is the
 * single-model MCTS baseline (the Reasoning Compiler).
 */
import { printLoopNest } from "../ir/print.ts";
import { legalMoves } from "../schedule/enumerate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { parseTransform } from "../schedule/text.ts";
import type { Transform } from "../schedule/transform.ts";
import { ScheduleError, ScheduleSyntaxError } from "../schedule/errors.ts";
import {
  ProposerError,
  type JointAction,
  type ProposalContext,
  type Proposer,
  type ScoreView,
} from "../models/protocol.ts";
import { ModelStats } from "./model-stats.ts";
import {
  DEFAULT_POLICY,
  exhausted,
  phiOf,
  selectChild,
  wideningLimit,
  type PolicyParams,
} from "./policy.ts";
import { Random } from "../util/random.ts";
import { chooseToMeasure, promising } from "./measure-choice.ts";
import { randomLegalTrace } from "./random-trace.ts";
import type { TuningSession } from "./session.ts";
import { TreeNode } from "./tree.ts";

export interface ColtOptions {
  readonly proposers: readonly Proposer[];
  readonly policy?: Partial<PolicyParams>;
  /** Every K-th regression of a smaller model's streak triggers course alteration; 0 disables it. */
  readonly courseAlterationK?: number;
  /**
   * Proposer cost between measurement rounds, in calls of the largest model: a call costs
   * its model's size over the largest size, so cheap models expand more per round.
   * Default: ROUND_LENGTH.
   */
  readonly roundCost?: number;
  /** At most this many expansions between measurement rounds. Default: ROUND_LENGTH. */
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

/**
 * How much the tree grows between measurement rounds: proposer cost (in calls of the
 * largest model) and expansions. One model measures after 4 of its calls, but a round
 * without a promising candidate is deferred (MAX_DEFERRED_ROUNDS), and single-model MCTS
 * defers about every other one: its children are the lookahead's picks, many of them
 * repeats. Several models fill every round with candidates and rarely defer, so at the
 * same round length COLT spent half MCTS's proposer cost per trial (llama3-8b-attention,
 * 64 trials: 78 against 132 largest-model calls). Twice the length brings both to about
 * the same cost per trial (130 against 132) at the same share for the largest model.
 */
export const ROUND_LENGTH = {
  oneModel: { cost: 4, expansions: 16 },
  severalModels: { cost: 8, expansions: 32 },
} as const;

/** Measurement rounds in a row that add no trial (only already-measured programs) before giving up. */
const MAX_IDLE_ROUNDS = 32;

/**
 * A round measures only promising candidates (measure-choice.ts); when there is none, the
 * tree grows for another round instead, at most this many rounds in a row, so trials are
 * not spent on programs the cost model already ranks well behind the best.
 */
const MAX_DEFERRED_ROUNDS = 2;

/**
 * The random share of a round's measurements. It bites where a round has many candidates
 * (COLT's cheap models fill the tree); at 1/4 it spent 16 of 64 trials on draws among nodes
 * predicted up to 2x slower than the best.
 */
const DEFAULT_EPSILON = 0.1;

/** Nodes a measurement round measures. */
const DEFAULT_MEASURE_PER_ROUND = 4;

/** Every K-th regression of a smaller model's streak calls the largest model (course alteration). */
const DEFAULT_COURSE_ALTERATION_K = 2;

/** Shown as the proposer of a schedule grafted from the tuning database. */
export const KNOWN_SCHEDULE_SOURCE = "database";

export class ColtSearch {
  private readonly policy: PolicyParams;
  private readonly random: Random;
  private readonly stats = new Map<string, ModelStats>();
  private readonly sizes = new Map<string, number>();
  private readonly phi: (m: string) => number;
  private readonly largest: string;
  private readonly byName = new Map<string, Proposer>();
  private readonly expansions: ExpansionEvent[] = [];
  private nextId = 0;
  private streak = 0;
  private courseAlterations = 0;
  private proposerCalls = 0;
  /** Proposer cost spent so far, in calls of the largest model. */
  private proposerCost = 0;
  /** Whether each model's most recent call failed outright (ProposerError). */
  private readonly lastCallFailed = new Map<string, boolean>();

  constructor(
    private readonly session: TuningSession,
    private readonly options: ColtOptions,
    seed: number,
  ) {
    if (options.proposers.length === 0) throw new Error("COLT needs at least one proposal model");
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
    this.random = new Random(seed ^ 0xc017);
    for (const p of options.proposers) {
      if (this.byName.has(p.info.name)) throw new Error(`two models are named '${p.info.name}'`);
      this.byName.set(p.info.name, p);
      this.stats.set(p.info.name, new ModelStats(p.info));
      this.sizes.set(p.info.name, p.info.size);
    }
    this.phi = phiOf(this.sizes);
    this.largest = [...options.proposers].sort((a, b) => b.info.size - a.info.size)[0].info.name;
    if (options.rootModel && !this.byName.has(options.rootModel)) {
      throw new Error(
        `root model '${options.rootModel}' is not in the bucket (${[...this.byName.keys()].join(", ")})`,
      );
    }
  }

  /**
   * `known`: schedules from the tuning database, already measured in this session; each
   * becomes a child of the root, so the tree extends the best known programs.
   */
  async run(root: Schedule, known: readonly Schedule[] = []): Promise<ColtResult> {
    const s = this.session;
    const rootModel = this.options.rootModel ?? this.largest;
    const rootNode = new TreeNode(
      this.nextId++,
      root,
      undefined,
      rootModel,
      undefined,
      s.options.baselineMs,
    );
    rootNode.measuredMs = s.options.baselineMs;
    rootNode.ownValue = s.score(s.options.baselineMs);
    rootNode.visits = 1;
    rootNode.valueSum = rootNode.ownValue;
    for (const schedule of known) this.graftKnown(rootNode, schedule);
    const length =
      this.byName.size > 1 && !this.options.singleModel
        ? ROUND_LENGTH.severalModels
        : ROUND_LENGTH.oneModel;
    const maxPerRound = this.options.expansionsPerRound ?? length.expansions;
    const roundCost = this.options.roundCost ?? length.cost;
    let iteration = 0;
    let sinceRound = 0;
    let roundStart = this.proposerCost;
    let idleRounds = 0;
    let deferredRounds = 0;
    while (!s.done && idleRounds < MAX_IDLE_ROUNDS) {
      if (!this.proposerBudgetLeft() || exhausted(rootNode)) {
        if (!(await this.measureRound(rootNode, s.trialsLeft))) break;
        continue;
      }
      const path = this.select(rootNode);
      const leaf = path[path.length - 1];
      const child = await this.expandWithCourseAlteration(leaf, ++iteration);
      if (child) {
        const value = this.evaluate(child);
        child.ownValue = value;
        for (const n of [...path, child]) {
          n.visits += 1;
          n.valueSum += value;
        }
      }
      if (++sinceRound >= maxPerRound || this.proposerCost - roundStart >= roundCost) {
        sinceRound = 0;
        roundStart = this.proposerCost;
        const trialsBefore = s.trials.length;
        const promisingOnly = deferredRounds < MAX_DEFERRED_ROUNDS;
        const measured = await this.measureRound(
          rootNode,
          this.options.measurePerRound ?? DEFAULT_MEASURE_PER_ROUND,
          promisingOnly,
        );
        if (!measured && promisingOnly) {
          deferredRounds++;
          continue;
        }
        deferredRounds = 0;
        idleRounds = s.trials.length > trialsBefore ? 0 : idleRounds + 1;
      }
    }
    const size = [...rootNode.walk()].length;
    return {
      models: [...this.stats.values()],
      expansions: this.expansions,
      iterations: iteration,
      treeSize: size,
      courseAlterations: this.courseAlterations,
      allModelsFailing: this.allModelsFailing(),
      stalled: idleRounds >= MAX_IDLE_ROUNDS,
      proposerCost: this.proposerCost,
    };
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
    const m = this.session.measurementOf(schedule);
    if (m?.verified && m.timing) child.measuredMs = m.timing.medianMs;
    else if (m) child.failed = true;
    child.ownValue = this.evaluate(child);
    child.visits = 1;
    child.valueSum = child.ownValue;
    root.visits += 1;
    root.valueSum += child.ownValue;
    root.children.push(child);
  }

  /**
   * Every model is down: each one was called and its latest call failed outright, so the
   * tree grew on random legal moves at the end of the run.
   */
  private allModelsFailing(): boolean {
    return [...this.byName.keys()].every((m) => this.lastCallFailed.get(m) === true);
  }

  /** Descends from the root until a node may take another child. */
  private select(root: TreeNode): TreeNode[] {
    const path = [root];
    let node = root;
    for (;;) {
      const width = node.children.length + node.duplicates;
      const canWiden = !node.terminal && width < wideningLimit(node.visits, this.policy);
      if (canWiden || node.children.length === 0) return path;
      const next = selectChild(node, this.policy, this.phi, this.sizes);
      if (!next) {
        if (!node.terminal) return path;
        node.terminal = true;
        return path;
      }
      path.push(next);
      node = next;
    }
  }

  private scoreView(n: TreeNode | undefined): ScoreView | undefined {
    if (!n) return undefined;
    return {
      ms: n.bestKnownMs,
      measured: n.measuredMs !== undefined,
      score: this.session.score(n.bestKnownMs),
    };
  }

  private context(
    node: TreeNode,
    purpose: ProposalContext["purpose"],
    rejected?: ProposalContext["rejected"],
  ): ProposalContext {
    const s = this.session;
    let text: string | undefined;
    return {
      purpose,
      schedule: node.schedule,
      get programText() {
        text ??= printLoopNest(node.schedule.lower());
        return text;
      },
      traceText: node.schedule.text(),
      node: this.scoreView(node)!,
      parent: this.scoreView(node.parent),
      grandparent: this.scoreView(node.parent?.parent),
      legalMoves: () => (node.legalMoves ??= legalMoves(node.schedule, this.moveOptions())),
      predictMs: (sch) => s.predictMs(sch),
      models: [...this.stats.values()].map((m) => m.view()),
      children: node.children.map((c) => ({ trace: c.schedule.text(), ...this.scoreView(c)! })),
      ancestorModels: [...node.ancestors(), node]
        .map((n) => n.proposedBy)
        .filter((m): m is string => m !== undefined),
      threads: s.options.threads ?? 1,
      budget: {
        trialsUsed: s.trials.length,
        trials: s.options.budget.trials,
        proposerCalls: this.proposerCalls,
      },
      ...(rejected ? { rejected } : {}),
    };
  }

  /** Expansion by the node's model, then course alteration by the largest model when due. */
  private async expandWithCourseAlteration(
    node: TreeNode,
    iteration: number,
  ): Promise<TreeNode | undefined> {
    const first = await this.expand(node, node.model, "expand", iteration);
    if (!first) return undefined;
    const firstEvent = this.expansions.length - 1;
    const k = this.options.courseAlterationK ?? DEFAULT_COURSE_ALTERATION_K;
    if (this.options.singleModel || k <= 0 || node.model === this.largest) return first.child;
    // Regression is judged on times: scores are clamped at the unscheduled program's.
    const parentScore = this.session.score(node.bestKnownMs);
    const childScore = this.session.score(first.child.bestKnownMs);
    if (first.child.bestKnownMs <= node.bestKnownMs) {
      this.streak = 0;
      return first.child;
    }
    this.streak++;
    if (this.streak % k !== 0) return first.child;
    if (!this.proposerBudgetLeft()) return first.child;
    this.courseAlterations++;
    this.stats.get(node.model)!.alterationsCaused++;
    const alt = await this.expand(node, this.largest, "course-alteration", iteration, {
      model: node.model,
      transformations: first.action.transformations,
      nextModel: first.action.nextModel,
      parentScore,
      childScore,
      parentMs: node.bestKnownMs,
      childMs: first.child.bestKnownMs,
    });
    if (!alt || alt.child === first.child) return first.child;
    if (alt.child.bestKnownMs <= first.child.bestKnownMs) {
      // A child that existed before this iteration stays: it is someone else's too.
      if (first.created) node.children.splice(node.children.indexOf(first.child), 1);
      this.expansions[firstEvent] = { ...this.expansions[firstEvent], replaced: true };
      return alt.child;
    }
    if (alt.created) node.children.splice(node.children.indexOf(alt.child), 1);
    return first.child;
  }

  private async expand(
    node: TreeNode,
    modelName: string,
    purpose: ProposalContext["purpose"],
    iteration: number,
    rejected?: ProposalContext["rejected"],
  ): Promise<{ child: TreeNode; action: JointAction; created: boolean } | undefined> {
    const proposer = this.byName.get(modelName)!;
    const stats = this.stats.get(modelName)!;
    stats.calls++;
    if (purpose === "course-alteration") stats.courseAlterations++;
    this.proposerCalls++;
    this.proposerCost += proposer.info.size / this.sizes.get(this.largest)!;
    let action: JointAction;
    let errors = 0;
    let failed = false;
    try {
      const ctx = this.context(node, purpose, rejected);
      const proposal = await this.session.clock.time("proposing", () => proposer.propose(ctx));
      stats.addUsage(proposal.usage);
      action = proposal.action;
      this.lastCallFailed.set(modelName, false);
    } catch (e) {
      if (!(e instanceof ProposerError)) throw e;
      if (e.usage) stats.addUsage(e.usage);
      errors++;
      failed = true;
      this.lastCallFailed.set(modelName, true);
      action = { transformations: [], nextModel: "" };
    }
    // Apply the proposal; every invalid part is an error, replaced by a random legal move.
    let schedule = node.schedule;
    let applied = 0;
    for (const text of action.transformations) {
      const t = parseOrUndefined(text);
      const r = t ? schedule.tryApply(t) : undefined;
      if (r?.ok) {
        schedule = r.schedule;
        applied++;
      } else {
        errors++;
        const fallback = this.randomMove(schedule);
        if (fallback) schedule = fallback;
      }
    }
    if (applied === 0 && action.transformations.length === 0) {
      if (errors === 0) errors++;
      const fallback = this.randomMove(schedule);
      if (fallback) schedule = fallback;
    }
    let nextModel = this.options.singleModel ? node.model : action.nextModel;
    if (!this.byName.has(nextModel)) {
      // A failed call is one error, not also an unknown model name.
      if (!failed) errors++;
      nextModel = this.bestHitRateModel();
    }
    stats.errors += errors;
    if (schedule.text() === node.schedule.text()) {
      node.terminal = legalMoves(node.schedule, this.moveOptions()).length === 0;
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
        modelName,
        this.session.predictMs(schedule),
        purpose === "course-alteration",
      );
    if (existing) node.duplicates++;
    else {
      const m = this.session.measurementOf(schedule);
      if (m) {
        if (m.verified && m.timing) child.measuredMs = m.timing.medianMs;
        else child.failed = true;
      }
      node.children.push(child);
    }
    // A child grown from fallbacks after a failed call is not the model's hit.
    if (child.bestKnownMs < node.bestKnownMs && !child.failed && !failed) stats.hits++;
    this.expansions.push({
      iteration,
      model: modelName,
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

  /** Proposer calls, tokens and money left; once spent, the remaining trials measure the tree. */
  private proposerBudgetLeft(): boolean {
    const b = this.session.options.budget;
    const all = [...this.stats.values()];
    const tokens = all.reduce((n, m) => n + m.tokensIn + m.tokensOut, 0);
    const usd = all.reduce((n, m) => n + m.costUsd, 0);
    return (
      this.proposerCalls < (b.proposerCalls ?? Infinity) &&
      tokens < (b.tokens ?? Infinity) &&
      usd < (b.usd ?? Infinity)
    );
  }

  private moveOptions() {
    return { threads: this.session.options.threads ?? 1 };
  }

  private randomMove(schedule: Schedule): Schedule | undefined {
    const moves = legalMoves(schedule, this.moveOptions());
    return moves.length > 0 ? this.random.pick(moves).schedule : undefined;
  }

  private bestHitRateModel(): string {
    const all = [...this.stats.values()];
    const rate = (m: ModelStats) => (m.hits + 1) / (m.calls + 2);
    return all.sort((a, b) => rate(b) - rate(a) || a.info.size - b.info.size)[0].info.name;
  }

  /** Value of a new child: measured score, else predicted (optionally after a rollout). */
  private evaluate(child: TreeNode): number {
    if (child.failed) return 0;
    const s = this.session;
    let value = s.score(child.bestKnownMs);
    const steps = this.options.rolloutSteps ?? 0;
    if (steps > 0 && child.measuredMs === undefined) {
      const end = randomLegalTrace(child.schedule, steps, this.random, this.moveOptions());
      value = Math.max(value, s.score(s.predictMs(end)));
    }
    return value;
  }

  /**
   * Measures the most promising unmeasured nodes (by prediction) plus a random share,
   * updates their values along the path to the root. Returns false when nothing was
   * measured: no candidate left, or with `promisingOnly` none predicted near the best.
   */
  private async measureRound(
    root: TreeNode,
    count: number,
    promisingOnly = false,
  ): Promise<boolean> {
    // A promising node may sit below unmeasured ones (a cheap model's step that pays off
    // only with the next one); otherwise only nodes whose parent is measured, so a step
    // that predicted well but measures badly is seen as a regression from a measured
    // parent and the tree turns away from it (instead of building on it unseen).
    let unmeasured = [...root.walk()].filter(
      (n) => !n.measured && (promisingOnly || n.parent?.measured !== false),
    );
    for (const n of unmeasured) n.predictedMs = this.session.predictMs(n.schedule);
    if (promisingOnly) {
      // The unscheduled program counts: a run whose trials all regressed is not their judge.
      const bestMs = Math.min(this.session.best?.ms ?? Infinity, this.session.options.baselineMs);
      unmeasured = promising(unmeasured, bestMs);
    }
    if (unmeasured.length === 0 || count <= 0) return false;
    const chosen = chooseToMeasure(
      unmeasured,
      count,
      this.options.epsilon ?? DEFAULT_EPSILON,
      this.random,
    );
    const results = await this.session.measure(
      chosen.map((n) => ({
        schedule: n.schedule,
        model: n.proposedBy,
        predictedMs: n.predictedMs,
      })),
    );
    chosen.forEach((n, i) => {
      const m = results[i];
      if (!m) return;
      if (m.verified && m.timing) n.measuredMs = m.timing.medianMs;
      else n.failed = true;
      const value = n.failed ? 0 : this.session.score(n.measuredMs!);
      const delta = value - n.ownValue;
      n.ownValue = value;
      if (n.visits > 0) for (let a: TreeNode | undefined = n; a; a = a.parent) a.valueSum += delta;
    });
    return results.some((m) => m !== undefined);
  }
}

function parseOrUndefined(text: string): Transform | undefined {
  try {
    return parseTransform(text);
  } catch (e) {
    if (e instanceof ScheduleSyntaxError || e instanceof ScheduleError) return undefined;
    throw e;
  }
}
