/** Jobs are data: validated, rebuilt from the registry, keyed by candidate; URLs lose their password. */
import { describe, expect, it } from "vitest";
import { parseQueueUrl, redactUrl } from "../../src/distributed/connection.ts";
import { parseCores } from "../../src/measure/cpu-list.ts";
import { jobId, jobOf, parseJob, scheduleOfJob } from "../../src/distributed/job.ts";
import { machineKey } from "../../src/distributed/machine-key.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";

const program = instantiate("matmul", "small");
const schedule = Schedule.fromTrace(program, parseTrace("split C.i 8 -> io ii\n"));
const settings = { workload: "matmul", size: "small" as const, seed: 1, threads: 1, minMs: 5 };

describe("measurement jobs", () => {
  it("carry the candidate as data and rebuild the same schedule", () => {
    const job = jobOf(schedule, settings);
    expect(Object.keys(job).sort()).toEqual(
      ["minMs", "programHash", "seed", "shape", "size", "threads", "trace", "workload"].sort(),
    );
    expect(scheduleOfJob(parseJob(job)).text()).toBe(schedule.text());
  });

  it("refuses C source, unknown workloads, bad shapes and bad traces", () => {
    const job = jobOf(schedule, settings);
    expect(() => parseJob({ ...job, source: "int main(void){}" })).toThrow();
    expect(() => parseJob({ ...job, workload: "../etc" })).toThrow();
    expect(() => scheduleOfJob({ ...job, workload: "nope" })).toThrow(/nope/);
    expect(() => scheduleOfJob({ ...job, shape: { ...job.shape, Q: 3 } })).toThrow(
      /no parameter 'Q'/,
    );
    expect(() => scheduleOfJob({ ...job, trace: "system rm -rf /\n" })).toThrow();
    expect(() => scheduleOfJob({ ...job, shape: { ...job.shape, M: 65 } })).toThrow(
      /different program/,
    );
  });

  it("are keyed by candidate and machine kind", () => {
    const job = jobOf(schedule, settings);
    expect(jobId(job, "k1")).toBe(jobId(jobOf(schedule, settings), "k1"));
    expect(jobId(job, "k1")).not.toBe(jobId(job, "k2"));
    expect(jobId(job, "k1")).not.toBe(jobId({ ...job, seed: 2 }, "k1"));
    const kind = {
      cpuModel: "X",
      target: "linux-x64",
      compiler: "gcc 12",
      flags: ["-O3"],
      threads: 1,
    };
    expect(machineKey(kind)).not.toBe(machineKey({ ...kind, threads: 2 }));
    expect(machineKey(kind)).not.toBe(machineKey({ ...kind, flags: ["-O2"] }));
  });
});

describe("queue URLs and core lists", () => {
  it("keep the password out of what is shown", () => {
    const c = parseQueueUrl("redis://:pa55@10.0.0.5:6380/2");
    expect(c.display).toBe("redis://[redacted]@10.0.0.5:6380/2");
    expect(c.redact("WRONGPASS pa55")).toBe("WRONGPASS [redacted]");
    expect(c.options).toMatchObject({ host: "10.0.0.5", port: 6380, password: "pa55", db: 2 });
    expect(redactUrl("redis://u:p@h:1")).toBe("redis://[redacted]@h:1");
    expect(() => parseQueueUrl("http://:pa55@h:1")).toThrow(/^(?!.*pa55)/);
  });

  it("parse taskset lists of existing cores", () => {
    expect(parseCores("0-1,3", 4)).toEqual([0, 1, 3]);
    expect(() => parseCores("4", 4)).toThrow(/core 4 does not exist/);
    expect(() => parseCores("2-1", 4)).toThrow(/backwards/);
    expect(() => parseCores("x", 4)).toThrow(/not a core list/);
  });
});
