import { describe, expect, it } from "vitest";
import { instantiate } from "../../src/workloads/registry.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import {
  DEFAULT_POLICY,
  effectiveLambda,
  phiOf,
  selectChild,
  uct,
  wideningLimit,
} from "../../src/search/policy.ts";
import { TreeNode } from "../../src/search/tree.ts";

const sizes = new Map([
  ["small", 1e9],
  ["mid", 8e9],
  ["large", 70e9],
]);
const phi = phiOf(sizes);
const s = Schedule.initial(instantiate("matmul", "small"));
let id = 0;
const node = (model: string, visits = 0, valueSum = 0, parent?: TreeNode) => {
  const n = new TreeNode(id++, s, parent, model, "large", 1);
  n.visits = visits;
  n.valueSum = valueSum;
  return n;
};

describe("model-aware policy", () => {
  it("phi is 1 for the smallest model, 0 for the largest, log-scaled between", () => {
    expect(phi("small")).toBe(1);
    expect(phi("large")).toBe(0);
    expect(phi("mid")).toBeCloseTo(
      (Math.log(70e9) - Math.log(8e9)) / (Math.log(70e9) - Math.log(1e9)),
      12,
    );
    expect(phiOf(new Map([["only", 5]]))("only")).toBe(0);
  });

  it("uses lambda = 0 among siblings whose phi are all equal", () => {
    expect(effectiveLambda([node("mid", 1), node("mid", 2)], 0.3, phi)).toBe(0);
    expect(effectiveLambda([node("mid", 1), node("small", 2)], 0.3, phi)).toBe(0.3);
  });

  it("scores children with (1-λ)Q + λφ + c·sqrt(ln N / n)", () => {
    const child = node("small", 4, 2);
    const p = { ...DEFAULT_POLICY, lambda: 0.25, c: 0.5 };
    expect(uct(child, 16, 0.25, p, phi)).toBeCloseTo(
      0.75 * 0.5 + 0.25 * 1 + 0.5 * Math.sqrt(Math.log(16) / 4),
      12,
    );
  });

  it("takes unvisited children first, the smaller model first", () => {
    const parent = node("large", 10, 5);
    const visited = node("small", 3, 3, parent);
    const unvisitedLarge = node("large", 0, 0, parent);
    const unvisitedMid = node("mid", 0, 0, parent);
    parent.children.push(visited, unvisitedLarge, unvisitedMid);
    expect(selectChild(parent, DEFAULT_POLICY, phi, sizes)).toBe(unvisitedMid);
  });

  it("prefers the smaller model among equal children when lambda > 0, and Q when lambda is 0", () => {
    const parent = node("large", 10, 5);
    const a = node("large", 5, 3, parent);
    const b = node("small", 5, 2.5, parent);
    parent.children.push(a, b);
    expect(selectChild(parent, { ...DEFAULT_POLICY, lambda: 0.5 }, phi, sizes)).toBe(b);
    expect(selectChild(parent, { ...DEFAULT_POLICY, lambda: 0 }, phi, sizes)).toBe(a);
  });

  it("with the default lambda, the smaller model settles near-ties but not a 1.25x faster subtree", () => {
    // Q is log(baseline / time) / span; llama3-8b-attention's span is 3.4.
    const span = 3.4;
    const faster = (ratio: number) => Math.log(ratio) / span;
    const pick = (ratio: number) => {
      const parent = node("large", 10, 5);
      const large = node("large", 5, 5 * (0.5 + faster(ratio)), parent);
      const small = node("small", 5, 5 * 0.5, parent);
      parent.children.push(large, small);
      return selectChild(parent, DEFAULT_POLICY, phi, sizes) === large ? "large" : "small";
    };
    expect(pick(1.03)).toBe("small");
    expect(pick(1.25)).toBe("large");
  });

  it("widens progressively with visits", () => {
    const p = { ...DEFAULT_POLICY, wideningBase: 1, wideningAlpha: 0.5 };
    expect([0, 1, 2, 4, 5, 9, 10].map((v) => wideningLimit(v, p))).toEqual([1, 1, 2, 2, 3, 3, 4]);
  });
});
