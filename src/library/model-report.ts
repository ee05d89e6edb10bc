/**
 * tasks.json and report.html of a model's library: per task its baseline and best time,
 * its share of the model's time and ONNX Runtime's time for the same subgraph; end to
 * end, the library against ONNX Runtime.
 */
import { escapeHtml } from "../report/html.ts";
import { formatMs, percent } from "../util/format.ts";

export interface TaskTimes {
  readonly name: string;
  readonly kind: string;
  /** The earlier identical task whose kernel this one calls. */
  readonly sameAs?: string;
  readonly nodes: readonly string[];
  readonly flops: number;
  readonly trials: number;
  readonly baselineMs: number;
  readonly bestMs: number;
  /** ONNX Runtime on the task's subgraph, same threads; null when ORT is not installed. */
  readonly ortMs: number | null;
  readonly trace: string;
  readonly runs: readonly string[];
}

export interface EndToEnd {
  readonly coltMs: number;
  readonly ortMs: number;
  /** Relative L2 error of the library's outputs against ONNX Runtime's. */
  readonly error: number;
}

export interface ModelReport {
  readonly model: string;
  readonly threads: number;
  readonly trials: number;
  readonly tasks: readonly TaskTimes[];
  /** Null when ONNX Runtime is not installed. */
  readonly endToEnd: EndToEnd | null;
}

/** Each task's share of the model's time: its best time over the sum of all tasks' best times. */
export function timeShares(tasks: readonly TaskTimes[]): number[] {
  const total = tasks.reduce((s, t) => s + t.bestMs, 0);
  return tasks.map((t) => (total > 0 ? t.bestMs / total : 0));
}

export function tasksJson(r: ModelReport): string {
  const shares = timeShares(r.tasks);
  return (
    JSON.stringify(
      {
        model: r.model,
        threads: r.threads,
        trials: r.trials,
        tasks: r.tasks.map((t, i) => ({
          ...t,
          speedup: t.baselineMs / t.bestMs,
          share: shares[i],
        })),
        endToEnd: r.endToEnd && { ...r.endToEnd, ratio: r.endToEnd.ortMs / r.endToEnd.coltMs },
      },
      null,
      2,
    ) + "\n"
  );
}

export function reportHtml(r: ModelReport): string {
  const shares = timeShares(r.tasks);
  const cell = (s: string) => `<td>${escapeHtml(s)}</td>`;
  const rows = r.tasks.map(
    (t, i) =>
      `<tr>${[
        t.name,
        t.kind,
        t.sameAs ? `= ${t.sameAs}` : String(t.trials),
        formatMs(t.baselineMs),
        formatMs(t.bestMs),
        `${(t.baselineMs / t.bestMs).toFixed(2)}x`,
        percent(shares[i]),
        t.ortMs !== null ? formatMs(t.ortMs) : "-",
        t.ortMs !== null ? `${(t.ortMs / t.bestMs).toFixed(2)}x` : "-",
      ]
        .map(cell)
        .join("")}</tr>`,
  );
  const e = r.endToEnd;
  const summary = e
    ? `End to end: COLT ${formatMs(e.coltMs)}, ONNX Runtime ${formatMs(e.ortMs)}: ${(e.ortMs / e.coltMs).toFixed(2)}x (outputs agree, relative L2 error ${e.error.toExponential(2)}).`
    : "ONNX Runtime is not installed: no comparison.";
  const head = [
    "task",
    "kind",
    "trials",
    "baseline",
    "best",
    "speedup",
    "share of time",
    "ORT",
    "vs ORT",
  ];
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(r.model)}: COLT</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}</style>
</head><body>
<h1>${escapeHtml(r.model)}</h1>
<p>${r.tasks.length} tasks, ${r.trials} trials in all, ${r.threads} thread(s). ${escapeHtml(summary)}</p>
<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
</body></html>
`;
}
