/**
 * The legal next moves of the nodes expanded last. Each move carries its applied schedule
 * (lowered, with the cost model's analysis of it), so keeping the list on every node held
 * about 1.4 GB by trial 64 of the paper-size MoE on 2 threads (a real run ran out of
 * Node's heap); a node is expanded again soon after it is first expanded (widening), so
 * the last few nodes' lists keep nearly all of the time the cache saves.
 */
import type { LegalMove } from "../schedule/enumerate.ts";
import type { TreeNode } from "./tree.ts";

/** Nodes whose legal moves are kept. */
const RECENT_NODES = 16;

export class RecentLegalMoves {
  private readonly byNode = new Map<TreeNode, readonly LegalMove[]>();

  constructor(private readonly capacity = RECENT_NODES) {}

  of(node: TreeNode, enumerate: () => readonly LegalMove[]): readonly LegalMove[] {
    let moves = this.byNode.get(node);
    if (moves) this.byNode.delete(node);
    else {
      moves = enumerate();
      // Least recently used first out: the map iterates in insertion order.
      if (this.byNode.size >= this.capacity) this.byNode.delete(this.byNode.keys().next().value!);
    }
    this.byNode.set(node, moves);
    return moves;
  }

  /** How many nodes' lists are kept. */
  get size(): number {
    return this.byNode.size;
  }
}
