/**
 * Progress of a tuning run on stderr: a live bar (cli-progress) on a terminal, one plain
 * line per trial otherwise, nothing with --quiet or --json. Colour only on a terminal
 * and when NO_COLOR is not set; text that is not COLT's own passes through `printable`.
 */
import cliProgress from "cli-progress";
import type { ExpansionEvent } from "../search/colt.ts";
import type { TrialRecord } from "../search/trials.ts";
import { printable } from "../util/printable.ts";
import { formatMs } from "../util/format.ts";

export interface ProgressOptions {
  readonly trials: number;
  readonly flops: number;
  readonly enabled: boolean;
  readonly stream?: NodeJS.WriteStream;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Progress {
  baseline(ms: number): void;
  trial(t: TrialRecord): void;
  /** A COLT iteration: the expanding model and course alterations (when the search reports them). */
  iteration(e: ExpansionEvent): void;
  stop(): void;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const env = o.env ?? process.env;
  if (!o.enabled) return { baseline() {}, trial() {}, iteration() {}, stop() {} };
  let baselineMs = 0;
  const gflops = (ms: number) => o.flops / (ms * 1e6);
  if (!stream.isTTY) {
    return {
      baseline(ms) {
        baselineMs = ms;
        stream.write(`baseline (unscheduled) ${formatMs(ms)}\n`);
      },
      trial(t) {
        const best =
          t.bestMs !== undefined
            ? `best ${formatMs(t.bestMs)} (${(baselineMs / t.bestMs).toFixed(1)}x, ${gflops(t.bestMs).toFixed(1)} GFLOP/s)`
            : "no verified result yet";
        const what = t.verified ? formatMs(t.ms!) : t.status;
        stream.write(
          printable(
            `trial ${t.trial}/${o.trials}  ${what.padEnd(12)} ${best}${t.model ? `  by ${t.model}` : ""}\n`,
          ),
        );
      },
      iteration() {},
      stop() {},
    };
  }
  const color = !env.NO_COLOR;
  const bold = (s: string) => (color ? `\u001b[1m${s}\u001b[22m` : s);
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `tuning {bar} {value}/{total} trials | best {gflops} GFLOP/s {speedup} | {model}{alterations}`,
      barCompleteChar: "█",
      barIncompleteChar: "░",
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const payload = { gflops: "-", speedup: "", model: "", alterations: "" };
  let alterations = 0;
  return {
    baseline(ms) {
      baselineMs = ms;
      stream.write(`baseline (unscheduled) ${formatMs(ms)}\n`);
      bar.start(o.trials, 0, payload);
      started = true;
    },
    trial(t) {
      if (t.bestMs !== undefined) {
        payload.gflops = bold(gflops(t.bestMs).toFixed(1));
        payload.speedup = `(${(baselineMs / t.bestMs).toFixed(2)}x)`;
      }
      payload.model = t.model ? `last by ${printable(t.model)}` : "";
      bar.update(t.trial, payload);
    },
    iteration(e) {
      payload.model = `expanding: ${printable(e.model)}`;
      if (e.courseAlteration) alterations++;
      if (alterations > 0) payload.alterations = ` | ${alterations} course alteration(s)`;
      if (started) bar.update(payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
