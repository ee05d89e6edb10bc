import { describe, expect, it } from "vitest";
import { chooseToMeasure, promising, RANDOM_SHARE_SPAN } from "../../src/search/measure-choice.ts";
import { Random } from "../../src/util/random.ts";

const candidates = [50, 1.9, 10, 1, 5, 1.5, 1.2].map((predictedMs, id) => ({ predictedMs, id }));
const ms = (xs: readonly { predictedMs: number }[]) => xs.map((x) => x.predictedMs);

describe("choice of the nodes a measurement round measures", () => {
  it("takes the best predictions first when there is no random share", () => {
    expect(ms(chooseToMeasure(candidates, 3, 0, new Random(1)))).toEqual([1, 1.2, 1.5]);
    expect(ms(chooseToMeasure(candidates, 99, 0, new Random(1)))).toEqual([
      1, 1.2, 1.5, 1.9, 5, 10, 50,
    ]);
  });

  it("draws the random share only among candidates predicted close to the best remaining one", () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 50; seed++) {
      const chosen = chooseToMeasure(candidates, 4, 1, new Random(seed));
      orders.add(ms(chosen).join(","));
      let remaining = ms(candidates);
      for (const c of chosen) {
        expect(c.predictedMs).toBeLessThanOrEqual(Math.min(...remaining) * RANDOM_SHARE_SPAN);
        remaining = remaining.filter((x) => x !== c.predictedMs);
      }
    }
    // It is random: the order varies with the seed, and the slow ones are never drawn early.
    expect(orders.size).toBeGreaterThan(3);
    for (const order of orders) expect(order.split(",").map(Number)).not.toContain(10);
  });

  it("counts as promising only candidates predicted within PROMISING_FACTOR of the run's best", () => {
    expect(ms(promising(candidates, 1))).toEqual([1, 1.5, 1.2]);
    expect(promising(candidates, 0.5)).toEqual([]);
  });
});
