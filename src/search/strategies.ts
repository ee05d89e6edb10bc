/**
 * Every search strategy by name: the tree searches (colt, mcts) and the baselines. The
 * CLI's `--strategy` help and validation, `tune` and the benches all read this registry.
 */
import { Schedule } from "../schedule/schedule.ts";
import { beamSearch } from "./baselines/beam.ts";
import { evolutionarySearch } from "./baselines/evolutionary.ts";
import { randomSearch } from "./baselines/random-search.ts";
import type { StrategyRun } from "./baselines/strategy.ts";
import { ColtSearch, type ColtOptions, type ExpansionEvent } from "./colt.ts";
import type { ModelStats } from "./model-stats.ts";
import type { Proposer } from "./proposer.ts";

export interface StrategyInput extends StrategyRun {
  readonly seed: number;
  readonly proposers: readonly Proposer[];
  readonly colt?: Partial<ColtOptions>;
  readonly onIteration?: (e: ExpansionEvent) => void;
}

/** What a tree search reports besides the session's trials; baselines have no proposers. */
export interface ProposerOutcome {
  readonly models: ModelStats[];
  readonly expansions: ExpansionEvent[];
  readonly allModelsFailing: boolean;
  readonly stalled: boolean;
  readonly proposerCost: number;
}

export interface StrategyDefinition {
  /** One line for `--strategy` help and the docs' tables. */
  readonly description: string;
  /** A tree search driven by proposal models; the baselines use none. */
  readonly usesProposers: boolean;
  /** Runs until the session is done or nothing is left to try. */
  run(input: StrategyInput): Promise<ProposerOutcome | undefined>;
}

async function treeSearch(input: StrategyInput, single: boolean): Promise<ProposerOutcome> {
  const proposers = single
    ? [[...input.proposers].sort((a, b) => b.info.size - a.info.size)[0]]
    : input.proposers;
  const search = new ColtSearch(
    input.session,
    { ...input.colt, proposers, singleModel: single, onIteration: input.onIteration },
    input.seed,
  );
  return search.run(Schedule.initial(input.session.options.program), input.known ?? []);
}

const baseline =
  (search: (run: StrategyRun) => Promise<void>) =>
  async (input: StrategyInput): Promise<undefined> => {
    await search(input);
    return undefined;
  };

export const STRATEGY_REGISTRY = {
  colt: {
    description: "one tree shared by every proposer of the bucket (the default)",
    usesProposers: true,
    run: (input: StrategyInput) => treeSearch(input, false),
  },
  mcts: {
    description: "single-model MCTS: the same tree search with the largest proposer alone",
    usesProposers: true,
    run: (input: StrategyInput) => treeSearch(input, true),
  },
  random: {
    description: "random legal traces",
    usesProposers: false,
    run: baseline((r) => randomSearch(r)),
  },
  evolutionary: {
    description: "TVM-style evolutionary search with cost-model fitness",
    usesProposers: false,
    run: baseline((r) => evolutionarySearch(r)),
  },
  beam: {
    description: "tinygrad-style greedy beam over single transformations",
    usesProposers: false,
    run: baseline((r) => beamSearch(r)),
  },
} as const satisfies Readonly<Record<string, StrategyDefinition>>;

export type StrategyName = keyof typeof STRATEGY_REGISTRY;

/** In the registry's order, the default first. */
export const STRATEGIES = Object.keys(STRATEGY_REGISTRY) as StrategyName[];

/** The strategies without proposers. */
export const BASELINE_STRATEGIES = STRATEGIES.filter((s) => !STRATEGY_REGISTRY[s].usesProposers);

export function isStrategy(name: string): name is StrategyName {
  return Object.hasOwn(STRATEGY_REGISTRY, name);
}
