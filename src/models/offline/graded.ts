/**
 * Eight offline proposers of graded strength and declared size, like the eight LLMs of
 * the published COLT setup: the random proposer, then cost-model proposers that score
 * more per call as they grow (tile shapes of the recipes, single moves sampled), the
 * default bucket's expert and lookahead among them. Sizes follow common LLM sizes so φ
 * and the proposer cost weigh them as such; they are labelled offline, not LLMs.
 */
import type { Proposer } from "../../search/proposer.ts";
import { CostModelProposer, LOOKAHEAD_GRADE, offlineBucket, type Grade } from "./proposers.ts";

interface GradedModel {
  readonly name: string;
  readonly size: number;
  readonly grade: Grade;
  readonly description: string;
}

/** Between the default bucket's random (0.5e9), expert (8e9) and lookahead (70e9). */
const EXTRA_GRADES: readonly GradedModel[] = [
  {
    name: "offline-greedy-8",
    size: 1.5e9,
    grade: { tileShapes: 0, singleMoves: 8, escalateWhenStuck: true, chainLinks: 1 },
    description: "the best predicted of 8 single legal moves",
  },
  {
    name: "offline-greedy-24",
    size: 3e9,
    grade: { tileShapes: 0, singleMoves: 24, escalateWhenStuck: true, chainLinks: 1 },
    description: "the best predicted of 24 single legal moves",
  },
  {
    name: "offline-expert-2",
    size: 14e9,
    grade: { tileShapes: 2, singleMoves: 48, escalateWhenStuck: true, chainLinks: 1 },
    description: "expert recipes with two tile shapes, checked against 48 single moves",
  },
  {
    name: "offline-expert-3",
    size: 32e9,
    grade: { tileShapes: 3, singleMoves: 64, escalateWhenStuck: false, chainLinks: 1 },
    description: "expert recipes with three tile shapes, checked against 64 single moves",
  },
  {
    name: "offline-lookahead-xl",
    size: 405e9,
    grade: {
      tileShapes: LOOKAHEAD_GRADE.tileShapes,
      singleMoves: 192,
      escalateWhenStuck: false,
      chainLinks: LOOKAHEAD_GRADE.chainLinks,
    },
    description: "cost-model lookahead over every recipe and 192 single moves",
  },
];

/** Each extra grade draws from its own stream, apart from the default bucket's. */
const EXTRA_SALT = 0x4400;

/** The default bucket's three proposers (same names, grades and draws) and five more, smallest first. */
export function gradedOfflineBucket(seed: number): Proposer[] {
  const extra = EXTRA_GRADES.map(
    (m, i) =>
      new CostModelProposer(
        { name: m.name, kind: "offline", size: m.size, description: m.description },
        seed,
        m.grade,
        EXTRA_SALT + i,
      ),
  );
  return [...offlineBucket(seed), ...extra].sort((a, b) => a.info.size - b.info.size);
}
