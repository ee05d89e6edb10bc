import { describe, expect, it } from "vitest";
import { renderBenchReport } from "../../src/report/html.ts";
import type { RunPoint } from "../../src/search/bench.ts";
import { ABLATIONS, FIDELITY_STRATEGIES } from "../../src/cli/fidelity.ts";

const point = (
  strategy: string,
  seed: number,
  speedup: number,
  proposerCost: number,
): RunPoint => ({
  workload: "matmul",
  strategy,
  seed,
  speedup,
  proposerCost,
});

/** The SVG of one figure of the report. */
function figureSvg(html: string, chart: string): string {
  const start = html.indexOf(`<figure data-chart="${chart}"`);
  expect(start, chart).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf("</figure>", start));
}

describe("bench report: quality against proposer cost", () => {
  it("draws one point per run, coloured by strategy", async () => {
    const runs = [
      point("colt", 1, 2.5, 40),
      point("colt", 2, 2.7, 38.5),
      point("mcts", 1, 2.4, 130),
      point("mcts-mid", 1, 2.0, 60),
      point("random", 1, 1.5, 0),
    ];
    const html = await renderBenchReport("bench", "<table></table>", [], runs);
    const svg = figureSvg(html, "quality-cost");
    expect(svg).toContain(`data-points="${runs.length}"`);
    // Vega draws each datum of the point mark as one path in the mark's group.
    const marks = /<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s.exec(svg);
    expect(marks).not.toBeNull();
    expect(marks![1].match(/<path /g)).toHaveLength(runs.length);
    // One colour per strategy, listed in the legend.
    const fills = new Set([...marks![1].matchAll(/fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
    expect(fills.size).toBe(4);
    for (const s of ["colt", "mcts", "mcts-mid", "random"]) expect(svg).toContain(`>${s}</text>`);
    expect(svg).toContain("proposer cost (calls of the largest model)");
  });

  it("tells every strategy and ablation of the fidelity bench apart by colour", async () => {
    const strategies = [...FIDELITY_STRATEGIES, ...Object.values(ABLATIONS).flat()].map(
      (v) => v.name,
    );
    expect(new Set(strategies).size).toBe(strategies.length);
    const html = await renderBenchReport(
      "bench",
      "",
      [],
      strategies.map((s, i) => point(s, 1, 1 + i, 10 * i)),
    );
    const marks = /<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s.exec(
      figureSvg(html, "quality-cost"),
    )!;
    const fills = new Set([...marks[1].matchAll(/fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
    expect(fills.size).toBe(strategies.length);
  });
});
