import { describe, expect, it } from "vitest";
import { averageRanks, spearman } from "../../src/costmodel/rank.ts";

describe("averageRanks", () => {
  it("ranks from 1 and gives ties the average of their ranks", () => {
    expect(averageRanks([10, 20, 10])).toEqual([1.5, 3, 1.5]);
    expect(averageRanks([3, 1, 2])).toEqual([3, 1, 2]);
    expect(averageRanks([5, 5, 5, 5])).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(averageRanks([])).toEqual([]);
  });
});

describe("spearman", () => {
  it("is 1 for the same order and -1 for the reverse order, whatever the scale", () => {
    expect(spearman([1, 2, 3, 4], [10, 200, 3000, 40000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it("handles ties with average ranks", () => {
    // ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(spearman([1, 1, 2, 2], [1, 1, 2, 2])).toBeCloseTo(1, 12);
  });

  it("matches the classic formula without ties", () => {
    const a = [3, 1, 4, 1.5, 5, 9, 2, 6];
    const b = [2, 7, 1, 8, 2.8, 1.8, 2.9, 0.5];
    const ra = averageRanks(a);
    const rb = averageRanks(b);
    const n = a.length;
    const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
    expect(spearman(a, b)).toBeCloseTo(1 - (6 * d2) / (n * (n * n - 1)), 12);
  });

  it("is symmetric", () => {
    const a = [0.3, 0.1, 0.2, 0.2, 0.9];
    const b = [5, 3, 3, 1, 2];
    expect(spearman(a, b)).toBeCloseTo(spearman(b, a), 12);
  });

  it("is 0 for constant or too short series and rejects bad input", () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(spearman([1], [2])).toBe(0);
    expect(spearman([], [])).toBe(0);
    expect(() => spearman([1, 2], [1])).toThrow(/length/);
    expect(() => spearman([1, Number.NaN], [1, 2])).toThrow(/NaN/);
  });
});
