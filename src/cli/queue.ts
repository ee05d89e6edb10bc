/** `--queue` and its companions: measuring a run on workers instead of this machine. */
import type { MachineProfile } from "../measure/profile.ts";
import type { Compiler } from "../measure/compiler.ts";
import { parseQueueUrl } from "../distributed/connection.ts";
import type { JobSettings } from "../distributed/job.ts";
import { machineKey, machineKind } from "../distributed/machine-key.ts";
import type { QueueRunner } from "../distributed/queue-runner.ts";
import { parsePositiveInt } from "./options.ts";
import { printErr } from "./output.ts";

export interface QueueCliOptions {
  queue?: string;
  waitForWorker: number;
  localFallback?: boolean;
}

export const QUEUE_OPTION = [
  "--queue <url>",
  "measure on 'colt worker' processes through this Redis: redis://[:PASSWORD@]HOST:PORT (see docs/distributed.md)",
] as const;
export const WAIT_FOR_WORKER_OPTION = [
  "--wait-for-worker <s>",
  "with --queue: how long to wait for a worker of this machine kind",
  parsePositiveInt("--wait-for-worker"),
  60,
] as const;
export const LOCAL_FALLBACK_OPTION = [
  "--local-fallback",
  "with --queue: measure on this machine when no worker of its kind comes",
] as const;

/**
 * The queue runner for this machine's kind once a worker of that kind is live; undefined
 * (measure locally) when none came and --local-fallback allows it.
 */
export async function openQueueRunner(
  o: QueueCliOptions & { queue: string },
  compiler: Compiler,
  profile: MachineProfile,
  settings: JobSettings,
  say: { info: boolean; warnings: boolean },
): Promise<QueueRunner | undefined> {
  const connection = parseQueueUrl(o.queue);
  const key = machineKey(machineKind(profile.cpuModel, compiler, settings.threads));
  // BullMQ loads only when a queue is used (a third of a second at every start otherwise).
  const { QueueRunner } = await import("../distributed/queue-runner.ts");
  const runner = new QueueRunner({
    connection,
    machineKey: key,
    settings,
    waitForWorkerMs: o.waitForWorker * 1000,
  });
  try {
    if (say.info)
      printErr(`measuring on workers of machine key ${key} via ${connection.display}\n`);
    if (await runner.awaitWorker(!o.localFallback)) return runner;
  } catch (e) {
    await runner.close();
    throw e;
  }
  await runner.close();
  if (say.warnings)
    printErr(`colt: warning: no worker of machine key ${key} came; measuring locally\n`);
  return undefined;
}
