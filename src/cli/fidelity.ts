/**
 * The fidelity bench (issue 18): does COLT's claim hold where data exceeds the caches?
 * The strategies it compares at equal trials, the COLT ablations, and the markdown tables
 * it writes between markers in docs/benchmarks.md. `bench/fidelity.ts` runs them. It
 * names the offline buckets, so it sits with the CLI, which wires models into the search.
 */
import { formatMs } from "../util/format.ts";
import { gradedOfflineBucket } from "../models/offline/graded.ts";
import { offlineBucket } from "../models/offline/proposers.ts";
import type { Proposer } from "../search/proposer.ts";
import type { BenchRow, BenchVariant } from "../search/bench.ts";

export class FidelityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FidelityError";
  }
}

/** The proposer in the middle of a bucket by size (the default bucket's offline-expert). */
export function midSizeProposer(bucket: readonly Proposer[]): Proposer {
  const bySize = [...bucket].sort((a, b) => a.info.size - b.info.size);
  return bySize[Math.floor((bySize.length - 1) / 2)];
}

/**
 * COLT with the default bucket; single-model MCTS with its largest proposer, and with its
 * mid-size proposer; the evolutionary and random baselines.
 */
export const FIDELITY_STRATEGIES: readonly BenchVariant[] = [
  { name: "colt", strategy: "colt" },
  { name: "mcts", strategy: "mcts" },
  {
    name: "mcts-mid",
    strategy: "mcts",
    proposers: (seed) => [midSizeProposer(offlineBucket(seed))],
  },
  { name: "evolutionary", strategy: "evolutionary" },
  { name: "random", strategy: "random" },
];

/**
 * COLT with one setting changed from its defaults (λ = 0.05, course alteration every 4th
 * regression, the three-proposer bucket), grouped as `--ablations` names them.
 */
export const ABLATIONS: Readonly<Record<string, readonly BenchVariant[]>> = {
  lambda: [
    { name: "colt-lambda-0", strategy: "colt", colt: { policy: { lambda: 0 } } },
    { name: "colt-lambda-0.2", strategy: "colt", colt: { policy: { lambda: 0.2 } } },
  ],
  "course-alteration": [
    { name: "colt-k1", strategy: "colt", colt: { courseAlterationK: 1 } },
    { name: "colt-k2", strategy: "colt", colt: { courseAlterationK: 2 } },
    { name: "colt-k-off", strategy: "colt", colt: { courseAlterationK: 0 } },
  ],
  "graded-bucket": [{ name: "colt-8", strategy: "colt", proposers: gradedOfflineBucket }],
  /** The default bucket without its smallest model, the random proposer. */
  "no-random": [
    {
      name: "colt-no-random",
      strategy: "colt",
      proposers: (seed) => offlineBucket(seed).filter((p) => p.info.name !== "offline-random"),
    },
  ],
  /** Issue 18's levers on the proposer cost, each off by default (docs/design.md). */
  levers: [
    { name: "colt-measured-escalation", strategy: "colt", colt: { escalation: "measured" } },
    { name: "colt-shared-rounds", strategy: "colt", colt: { smallerShare: 0.5 } },
    { name: "colt-frontier-next", strategy: "colt", colt: { nextModelRule: "frontier" } },
  ],
  /**
   * Other measurement round lengths than the default 4 expansions: 8, or budgeted in
   * proposer cost as before (8 calls of the largest model, at most 32 expansions), where
   * cheap calls buy more expansions per round.
   */
  "round-length": [
    { name: "colt-rounds-8-calls", strategy: "colt", colt: { expansionsPerRound: 8 } },
    {
      name: "colt-rounds-by-cost",
      strategy: "colt",
      colt: { roundCost: 8, expansionsPerRound: 32 },
    },
  ],
};

/** Parses `--ablations`: a comma-separated list of ABLATIONS groups or single variants by name, or "none". */
export function ablationVariants(list: string): BenchVariant[] {
  if (list.trim() === "none") return [];
  return list.split(",").flatMap((raw) => {
    const name = raw.trim();
    const variants =
      ABLATIONS[name] ?? Object.values(ABLATIONS).flatMap((g) => g.filter((v) => v.name === name));
    if (variants.length === 0)
      throw new FidelityError(
        `unknown ablation '${name}' (ablations: ${Object.keys(ABLATIONS).join(", ")}, or one of their variants, or none)`,
      );
    return variants;
  });
}

const time = (ms: number | null): string => (ms === null ? "-" : formatMs(ms));

const COLUMNS = [
  "workload",
  "strategy",
  "best (median)",
  "IQR",
  "best (min)",
  "speedup",
  "trials to 90%",
  "proposer cost",
  "largest-model share",
  "proposer calls per model",
  "wall",
] as const;

/** A markdown table of bench rows, in their order. */
export function fidelityTable(rows: readonly BenchRow[]): string {
  const cells = (r: BenchRow) => [
    r.workload,
    r.strategy,
    time(r.bestMs),
    time(r.bestMsIqr),
    time(r.bestMinMs),
    r.speedup === null ? "-" : `${r.speedup.toFixed(2)}x`,
    r.trialsTo90 === null ? "-" : String(r.trialsTo90),
    r.proposerCost === null ? "-" : r.proposerCost.toFixed(1),
    r.largestShare === null ? "-" : `${(r.largestShare * 100).toFixed(0)}%`,
    Object.entries(r.calls)
      .map(([m, n]) => `${m} ${n}`)
      .join(", ") || "-",
    `${(r.wallMs / 1000).toFixed(0)} s`,
  ];
  return [
    `| ${COLUMNS.join(" | ")} |`,
    `| --- | --- | ${COLUMNS.slice(2, -2)
      .map(() => "---:")
      .join(" | ")} | --- | ---: |`,
    ...rows.map((r) => `| ${cells(r).join(" | ")} |`),
  ].join("\n");
}
