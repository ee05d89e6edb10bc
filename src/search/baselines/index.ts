/** The baseline strategies by name, as the CLI and the experiment scripts refer to them. */
import { beamSearch } from "./beam.ts";
import { evolutionarySearch } from "./evolutionary.ts";
import { randomSearch } from "./random-search.ts";
import type { Strategy } from "./strategy.ts";

export { BEAM_DEFAULTS, beamSearch, type BeamOptions } from "./beam.ts";
export {
  EVOLUTIONARY_DEFAULTS,
  evolutionarySearch,
  type EvolutionaryOptions,
} from "./evolutionary.ts";
export { RANDOM_SEARCH_DEFAULTS, randomSearch, type RandomSearchOptions } from "./random-search.ts";
export type { Strategy, StrategyRun } from "./strategy.ts";

export const BASELINES: Readonly<Record<"random" | "evolutionary" | "beam", Strategy>> = {
  random: (run) => randomSearch(run),
  evolutionary: (run) => evolutionarySearch(run),
  beam: (run) => beamSearch(run),
};
