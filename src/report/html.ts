/** One self-contained HTML report of a run: inline CSS and SVG, no script, no external request. */
import type { RunPoint } from "../search/bench.ts";
import {
  convergenceSpec,
  expansionsSpec,
  modelsSpec,
  qualityCostSpec,
  renderSvg,
} from "./charts.ts";
import type { ReportData } from "./data.ts";
import { ABOVE_BOUND, rooflineFraction } from "../measure/roofline.ts";
import { printable } from "../util/printable.ts";

/** Text as HTML, control characters shown as `\u00HH` like on the terminal. */
const escape = (s: string) =>
  printable(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

const fmtMs = (ms: number | null | undefined) =>
  ms === null || ms === undefined
    ? "–"
    : ms >= 1
      ? `${ms.toFixed(3)} ms`
      : `${(ms * 1000).toFixed(1)} µs`;

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } tr:nth-child(even) { background: #f6f6f6; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 12px; }
figure { margin: 1em 0; } .note { color: #666; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; } dt { color: #666; }
`;

function figure(name: string, points: number, svg: string): string {
  return `<figure data-chart="${name}" data-points="${points}">${svg}</figure>`;
}

export async function renderReport(d: ReportData): Promise<string> {
  const r = d.run;
  const shape = Object.entries(d.shape)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const main = d.series[0];
  const bestMs = d.best?.ms;
  const gflops = bestMs !== undefined ? d.flops / (bestMs * 1e6) : undefined;
  const facts: [string, string][] = [
    ["run", r.id],
    ["strategy", `${r.strategy}, seed ${r.seed}, ${r.threads} core(s)`],
    [
      "status",
      `${r.status}, started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}`,
    ],
    ["trials", String(main.trials.length)],
    ["baseline", `${fmtMs(d.baselineMs)} (unscheduled)`],
    [
      "best",
      bestMs !== undefined
        ? `${fmtMs(bestMs)} = ${gflops!.toFixed(1)} GFLOP/s`
        : "no verified candidate",
    ],
  ];
  if (d.best?.prepareMs !== undefined)
    facts.push(["prepare", `${fmtMs(d.best.prepareMs)} once, before the timed runs (not in best)`]);
  if (bestMs !== undefined && d.baselineMs)
    facts.push(["speedup", `${(d.baselineMs / bestMs).toFixed(2)}x`]);
  if (bestMs !== undefined && d.rooflineMs) {
    const fraction = rooflineFraction(d.rooflineMs, bestMs);
    facts.push([
      "of roofline",
      fraction !== null ? `${(100 * fraction).toFixed(1)}%` : ABOVE_BOUND,
    ]);
  }
  const sections: string[] = [
    `<h1>${escape(r.workload)} (${escape(shape)})</h1>`,
    `<dl>${facts.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join("")}</dl>`,
    `<h2>Convergence</h2>`,
    figure(
      "convergence",
      d.series.reduce((n, s) => n + s.trials.filter((t) => t.bestGflops !== null).length, 0),
      await renderSvg(convergenceSpec(d)),
    ),
  ];
  if (d.series.length > 1)
    sections.push(`<p class="note">Other runs of the same bench are overlaid.</p>`);
  if (d.expansions.length > 0) {
    const alterations = d.expansions.filter((e) => e.courseAlteration).length;
    sections.push(
      `<h2>Models</h2>`,
      `<p>${d.expansions.length} expansions, ${alterations} course alterations.</p>`,
      figure("expansions", d.expansions.length, await renderSvg(expansionsSpec(d))),
    );
  }
  if (d.models.length > 0) {
    sections.push(
      figure("models", d.models.length * 3, await renderSvg(modelsSpec(d))),
      `<table><thead><tr><th>model</th><th>kind</th><th>calls</th><th>hits</th><th>hit rate</th><th>errors</th><th>course alt.</th><th>tokens in/out</th><th>cost USD</th></tr></thead><tbody>`,
      ...d.models.map(
        (m) =>
          `<tr><td>${escape(m.name)}</td><td>${escape(m.kind)}</td><td>${m.calls}</td><td>${m.hits}</td><td>${m.calls ? ((100 * m.hits) / m.calls).toFixed(0) + "%" : "–"}</td><td>${m.errors}</td><td>${m.courseAlterations}</td><td>${m.tokensIn}/${m.tokensOut}</td><td>${m.costUsd.toFixed(4)}</td></tr>`,
      ),
      `</tbody></table>`,
      `<p class="note">offline = a built-in proposer, not an LLM.</p>`,
    );
  }
  if (d.best) {
    sections.push(
      `<h2>Best schedule</h2>`,
      `<pre data-section="trace">${escape(d.best.trace.trim() === "" ? "(none: no trial beat the unscheduled program)" : d.best.trace)}</pre>`,
      `<h2>Its C kernel</h2>`,
      `<pre data-section="c">${escape(d.best.c)}</pre>`,
    );
  }
  sections.push(
    `<h2>The workload's loop nest</h2>`,
    `<pre data-section="nest">${escape(d.loopNest)}</pre>`,
  );
  return page(`COLT report: ${r.workload} ${r.id}`, sections);
}

/**
 * `colt bench`: the table, every run's speedup against its proposer cost, and per workload
 * every run's convergence curve in one chart.
 */
export async function renderBenchReport(
  title: string,
  tableHtml: string,
  workloads: readonly ReportData[],
  runs: readonly RunPoint[],
): Promise<string> {
  const sections = [
    `<h1>${escape(title)}</h1>`,
    tableHtml,
    `<h2>Quality against proposer cost</h2>`,
    figure("quality-cost", runs.length, await renderSvg(qualityCostSpec(runs))),
  ];
  for (const d of workloads) {
    const shape = Object.entries(d.shape)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    sections.push(
      `<h2>${escape(d.run.workload)} (${escape(shape)})</h2>`,
      figure(
        "convergence",
        d.series.reduce((n, s) => n + s.trials.filter((t) => t.bestGflops !== null).length, 0),
        await renderSvg(convergenceSpec(d)),
      ),
    );
  }
  return page(title, sections);
}

function page(title: string, sections: readonly string[]): string {
  return [
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escape(title)}</title><style>${CSS}</style></head>`,
    `<body>`,
    ...sections,
    `</body></html>`,
    ``,
  ].join("\n");
}

export { escape as escapeHtml };
