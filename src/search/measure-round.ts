/**
 * Measurement rounds (docs/design.md): between rounds the tree grows on predictions; a
 * round measures the most promising unmeasured nodes plus a random share and writes the
 * measured values back along their paths.
 */
import type { Random } from "../util/random.ts";
import { chooseToMeasure, promising } from "./measure-choice.ts";
import type { TuningSession } from "./session.ts";
import type { TreeNode } from "./tree.ts";

/**
 * How much the tree grows between measurement rounds: expansions, whatever model made
 * them, for COLT as for single-model MCTS. Rounds once also ended on proposer cost (8
 * calls of the largest model with several models, at most 32 expansions): cheap calls then
 * bought more expansions per round, and COLT made 3-5x MCTS's calls for 0.75-1.5x its
 * proposer cost. Counted in expansions, COLT makes about MCTS's number of calls, most of
 * them cheap (docs/benchmarks.md, "Rounds counted in calls").
 */
export const ROUND_LENGTH = { expansions: 4 } as const;

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

export interface RoundOptions {
  /** Expansions between rounds. */
  readonly expansions: number;
  /** Also end a round once this proposer cost (in calls of the largest model) is spent; none by default. */
  readonly cost?: number;
  readonly measurePerRound?: number;
  readonly epsilon?: number;
  /**
   * Shared rounds: this share of a round's measurements goes to the best predicted children
   * of models other than `largest`, so a cheap model's promising child is measured early
   * instead of the largest model's proposals filling the round. 0: no share.
   */
  readonly smallerShare?: number;
  readonly largest?: string;
}

/** When rounds are due, how many were deferred or idle, and the rounds themselves. */
export class MeasurementRounds {
  private sinceRound = 0;
  private roundStart = 0;
  private idle = 0;
  private deferred = 0;

  constructor(
    private readonly session: TuningSession,
    private readonly root: TreeNode,
    private readonly random: Random,
    private readonly options: RoundOptions,
    /** Called for every node a round measured, after its value is written back. */
    private readonly onMeasured: (node: TreeNode) => void = () => {},
  ) {}

  /** Rounds kept finding only programs already measured: the search stops. */
  get stalled(): boolean {
    return this.idle >= MAX_IDLE_ROUNDS;
  }

  /** After each expansion: a round when the round's expansions (or its proposer cost, if set) are spent. */
  async afterExpansion(proposerCost: number): Promise<void> {
    const { expansions, cost = Infinity } = this.options;
    const full = ++this.sinceRound >= expansions || proposerCost - this.roundStart >= cost;
    if (!full) return;
    this.sinceRound = 0;
    this.roundStart = proposerCost;
    const trialsBefore = this.session.trials.length;
    const promisingOnly = this.deferred < MAX_DEFERRED_ROUNDS;
    const measured = await this.measure(
      this.options.measurePerRound ?? DEFAULT_MEASURE_PER_ROUND,
      promisingOnly,
    );
    if (!measured && promisingOnly) {
      this.deferred++;
      return;
    }
    this.deferred = 0;
    this.idle = this.session.trials.length > trialsBefore ? 0 : this.idle + 1;
  }

  /**
   * Measures the most promising unmeasured nodes (by prediction) plus a random share,
   * updates their values along the path to the root. Returns false when nothing was
   * measured: no candidate left, or with `promisingOnly` none predicted near the best.
   */
  async measure(count: number, promisingOnly = false): Promise<boolean> {
    const s = this.session;
    // A promising node may sit below unmeasured ones (a cheap model's step that pays off
    // only with the next one); otherwise only nodes whose parent is measured, so a step
    // that predicted well but measures badly is seen as a regression from a measured
    // parent and the tree turns away from it (instead of building on it unseen).
    let unmeasured = [...this.root.walk()].filter(
      (n) => !n.measured && (promisingOnly || n.parent?.measured !== false),
    );
    for (const n of unmeasured) n.predictedMs = s.predictMs(n.schedule);
    if (promisingOnly) {
      // The unscheduled program counts: a run whose trials all regressed is not their judge.
      const bestMs = Math.min(s.best?.ms ?? Infinity, s.options.baselineMs);
      unmeasured = promising(unmeasured, bestMs);
    }
    if (unmeasured.length === 0 || count <= 0) return false;
    const chosen = this.choose(unmeasured, count);
    const results = await s.measure(
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
      const value = n.failed ? 0 : s.score(n.measuredMs!);
      const delta = value - n.ownValue;
      n.ownValue = value;
      if (n.visits > 0) for (let a: TreeNode | undefined = n; a; a = a.parent) a.valueSum += delta;
      this.onMeasured(n);
    });
    return results.some((m) => m !== undefined);
  }

  /** The smaller models' share first (best predicted), then the usual choice among the rest. */
  private choose(candidates: readonly TreeNode[], count: number): TreeNode[] {
    const { smallerShare = 0, largest, epsilon = DEFAULT_EPSILON } = this.options;
    const reserved = Math.round(count * smallerShare);
    const fromSmaller = candidates
      .filter((n) => n.proposedBy !== undefined && n.proposedBy !== largest)
      .sort((a, b) => a.predictedMs - b.predictedMs || a.id - b.id)
      .slice(0, reserved);
    const rest = candidates.filter((n) => !fromSmaller.includes(n));
    return [
      ...fromSmaller,
      ...chooseToMeasure(rest, count - fromSmaller.length, epsilon, this.random),
    ];
  }
}
