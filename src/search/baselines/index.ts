/** The baseline strategies; src/search/strategies.ts registers them by name with colt and mcts. */

export { BEAM_DEFAULTS, beamSearch, type BeamOptions } from "./beam.ts";
export {
  EVOLUTIONARY_DEFAULTS,
  evolutionarySearch,
  type EvolutionaryOptions,
} from "./evolutionary.ts";
export { RANDOM_SEARCH_DEFAULTS, randomSearch, type RandomSearchOptions } from "./random-search.ts";
export type { Strategy, StrategyRun } from "./strategy.ts";
