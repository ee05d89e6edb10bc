/** The report's charts: Vega-Lite specifications rendered to SVG in Node (no browser, no script). */
import type * as vegaLite from "vega-lite";
import type { RunPoint } from "../search/bench.ts";
import type { ReportData } from "./data.ts";

export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  // Loaded here, not at start-up: Vega takes about half a second to load, and every colt
  // command imports this module through the report it may write.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Best GFLOP/s after each trial, one line per run; the peak-of-roofline as a rule. */
export function convergenceSpec(d: ReportData): vegaLite.TopLevelSpec {
  const values = d.series.flatMap((s) =>
    s.trials
      .filter((t) => t.bestGflops !== null)
      .map((t) => ({ run: s.label, trial: t.trial, gflops: t.bestGflops })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Best GFLOP/s vs trials",
    width: 640,
    height: 280,
    data: { values },
    mark: { type: "line", point: true, interpolate: "step-after" },
    encoding: {
      x: { field: "trial", type: "quantitative", title: "trial" },
      y: { field: "gflops", type: "quantitative", title: "best GFLOP/s" },
      color: { field: "run", type: "nominal", title: "run" },
    },
  };
}

/** Which model expanded each COLT iteration; course alterations marked. */
export function expansionsSpec(d: ReportData): vegaLite.TopLevelSpec {
  const values = d.expansions.map((e) => ({
    iteration: e.iteration,
    model: e.model,
    kind: e.courseAlteration
      ? e.replaced
        ? "course alteration (replaced)"
        : "course alteration"
      : "expansion",
  }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Model expanding each iteration",
    width: 640,
    height: 160,
    data: { values },
    mark: { type: "point", filled: true, size: 50 },
    encoding: {
      x: { field: "iteration", type: "quantitative" },
      y: { field: "model", type: "nominal" },
      shape: { field: "kind", type: "nominal", title: "" },
      color: { field: "kind", type: "nominal", title: "" },
    },
  };
}

/** Calls, hits and errors per model. */
export function modelsSpec(d: ReportData): vegaLite.TopLevelSpec {
  const values = d.models.flatMap((m) =>
    (["calls", "hits", "errors"] as const).map((what) => ({ model: m.name, what, n: m[what] })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Proposer calls, hits, errors",
    width: 200,
    height: 140,
    data: { values },
    mark: "bar",
    encoding: {
      column: { field: "model", type: "nominal", title: null },
      x: { field: "what", type: "nominal", title: null, sort: ["calls", "hits", "errors"] },
      y: { field: "n", type: "quantitative", title: "count" },
      color: { field: "what", type: "nominal", legend: null },
    },
  };
}

/**
 * A bench's runs, one point each: speedup over the unscheduled program against what the
 * run spent on proposers (calls of the largest model; 0 for searches without proposers),
 * coloured by strategy. The question a bucket of models answers is this trade-off.
 */
export function qualityCostSpec(points: readonly RunPoint[]): vegaLite.TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Speedup against proposer cost, one point per run",
    width: 640,
    height: 300,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: "point", filled: true, size: 70, opacity: 0.8 },
    encoding: {
      x: {
        field: "proposerCost",
        type: "quantitative",
        title: "proposer cost (calls of the largest model)",
      },
      y: { field: "speedup", type: "quantitative", title: "speedup over unscheduled" },
      // Twenty colours: the fidelity bench compares eleven strategies.
      color: {
        field: "strategy",
        type: "nominal",
        title: "strategy",
        scale: { scheme: "tableau20" },
      },
      shape: { field: "workload", type: "nominal", title: "workload" },
    },
  };
}
