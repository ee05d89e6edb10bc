import { describe, expect, it } from "vitest";
import { legalMoves, type LegalMove } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { RecentLegalMoves } from "../../src/search/recent-legal-moves.ts";
import { TreeNode } from "../../src/search/tree.ts";
import { instantiate } from "../../src/workloads/registry.ts";

describe("the legal moves of the nodes expanded last", () => {
  const root = Schedule.initial(instantiate("matmul", "small"));
  const nodes = Array.from({ length: 5 }, (_, i) => new TreeNode(i, root, undefined, "m", "m", 1));
  const counting = () => {
    let enumerated = 0;
    const of = (): readonly LegalMove[] => {
      enumerated++;
      return legalMoves(root);
    };
    return { of, count: () => enumerated };
  };

  it("offers a node expanded again the same list without enumerating it again", () => {
    const recent = new RecentLegalMoves(2);
    const e = counting();
    const first = recent.of(nodes[0], e.of);
    expect(first.length).toBeGreaterThan(0);
    expect(recent.of(nodes[0], e.of)).toBe(first);
    expect(e.count()).toBe(1);
  });

  it("keeps the lists of the last nodes only, least recently used out first", () => {
    const recent = new RecentLegalMoves(2);
    const e = counting();
    recent.of(nodes[0], e.of);
    recent.of(nodes[1], e.of);
    recent.of(nodes[0], e.of); // node 1 is now the least recently used
    recent.of(nodes[2], e.of);
    expect(recent.size).toBe(2);
    expect(e.count()).toBe(3);
    recent.of(nodes[0], e.of);
    expect(e.count()).toBe(3);
    recent.of(nodes[1], e.of);
    expect(e.count()).toBe(4);
  });
});
