/** Shared fixtures of the cost-model tests: a fixed machine and schedules from text. */
import { readFileSync } from "node:fs";
import type { MachineProfile } from "../../src/measure/profile.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { randomLegalTrace } from "../../src/search/random-trace.ts";
import { Random } from "../../src/util/random.ts";
import { instantiate, type SizeName } from "../../src/workloads/registry.ts";

/** The calibrated profile of the development machine (no calibration in tests). */
export const PROFILE: MachineProfile = {
  cpuModel: "test CPU",
  cores: 2,
  compiler: "cc (test) 12.2.0",
  peakFlopsPerCore: 240e9,
  bandwidthPerCore: 15.7e9,
  cacheBytesPerCore: 2 * 1024 * 1024,
  calibratedAt: "2026-01-01T00:00:00.000Z",
};

/** A schedule from trace text; `;` separates steps. */
export function sched(workload: string, trace: string, size: SizeName = "small"): Schedule {
  return Schedule.fromTrace(instantiate(workload, size), parseTrace(trace.replace(/;/g, "\n")));
}

export function exampleSchedule(file: string, workload: string, size: SizeName): Schedule {
  const text = readFileSync(new URL(`../../examples/schedules/${file}`, import.meta.url), "utf8");
  return Schedule.fromTrace(instantiate(workload, size), parseTrace(text));
}

/** `count` distinct random legal schedules of a small workload, deterministic in `seed`. */
export function randomSchedules(
  workload: string,
  count: number,
  seed: number,
  maxSteps = 6,
): Schedule[] {
  const start = Schedule.initial(instantiate(workload, "small"));
  const random = new Random(seed);
  const seen = new Set<string>();
  const out: Schedule[] = [];
  for (let i = 0; out.length < count && i < count * 20; i++) {
    const s = randomLegalTrace(start, 1 + random.int(maxSteps), random.fork(i));
    const key = s.text();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}
