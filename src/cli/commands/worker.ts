/** `colt worker`: measure candidates for tuners on other machines (docs/distributed.md). */
import { hostname } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { parseQueueUrl } from "../../distributed/connection.ts";
import { claimCores } from "../../distributed/cores.ts";
import { parseCores } from "../../measure/cpu-list.ts";
import { machineKind } from "../../distributed/machine-key.ts";
import { cacheDir, ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import { resolveMemoryLimit } from "../../measure/memory-limit.ts";
import { machineProfile } from "../../measure/profile.ts";
import { loadTimedTarget, MAX_MEMORY_OPTION, parsePositiveInt, TARGET_OPTION } from "../options.ts";
import { printErr } from "../output.ts";
import { UsageError } from "../errors.ts";

/** A connection error that keeps repeating is shown again after this long. */
const REPEAT_WARNING_MS = 60_000;

interface WorkerCliOptions {
  queue: string;
  target?: string;
  cores?: string;
  name?: string;
  lease: number;
  runTimeout?: number;
  maxMemory?: string;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("take measurement jobs of this machine's kind from a Redis queue until stopped")
    .requiredOption("--queue <url>", "the Redis of the tuners: redis://[:PASSWORD@]HOST:PORT")
    .option(
      "--cores <list>",
      "cores the kernels run on, e.g. 3 or 0-3 (default: the highest core no other worker took); the thread count is their number",
    )
    .option("--name <name>", "the worker's name in results and 'colt workers' (default: host-pid)")
    .option(
      "--lease <s>",
      "seconds a job stays with a worker that stops answering before it is delivered again",
      parsePositiveInt("--lease"),
      30,
    )
    .option(
      "--run-timeout <s>",
      "seconds a candidate may run before it is classified as a timeout",
      parsePositiveInt("--run-timeout"),
    )
    .option(...MAX_MEMORY_OPTION)
    .option(...TARGET_OPTION)
    .action(async (opts: WorkerCliOptions) => {
      const connection = parseQueueUrl(opts.queue);
      const name = opts.name ?? `${hostname()}-${process.pid}`;
      if (!/^[\w.-]{1,64}$/.test(name))
        throw new UsageError(`--name '${name}': use letters, digits, '.', '-' and '_' only`);
      ensureCacheDir();
      const compiler = detectCompiler(undefined, loadTimedTarget(opts.target, "worker"));
      const profile = await machineProfile(compiler, cacheDir());
      // BullMQ loads only for this command, not at every colt start.
      const { MeasurementWorker } = await import("../../distributed/worker.ts");
      const claim = claimCores(cacheDir(), opts.cores ? parseCores(opts.cores) : undefined);
      const worker = new MeasurementWorker({
        connection,
        name,
        cores: claim.list,
        kind: machineKind(profile.cpuModel, compiler, claim.cores.length),
        compiler,
        cacheDir: join(cacheDir(), "workers", name),
        memoryLimit: resolveMemoryLimit(opts.maxMemory),
        leaseMs: opts.lease * 1000,
        ...(opts.runTimeout !== undefined ? { runTimeoutMs: opts.runTimeout * 1000 } : {}),
        onJob: (id, event) => printErr(`${name}: job ${id} ${event}\n`),
        onError: warnOnce((message) =>
          printErr(`${name}: warning: ${connection.redact(message)}; still trying\n`),
        ),
      });
      const stopped = stopSignal();
      try {
        // Until Redis answers, the worker keeps trying (as after a Redis restart).
        printErr(`worker ${name}: connecting to ${connection.display}\n`);
        const started = worker.start().then(() => true);
        if (!(await Promise.race([started, stopped.then(() => false)]))) {
          printErr(`worker ${name}: stopped before ${connection.display} answered\n`);
          await worker.close();
          return;
        }
        printErr(
          `worker ${name}: machine key ${worker.key} (${profile.cpuModel}, ${claim.cores.length} thread${claim.cores.length > 1 ? "s" : ""}), cores ${claim.list}, queue ${connection.display}\n`,
        );
        await stopped;
        printErr(`worker ${name}: stopping after the current job\n`);
        await worker.close();
      } finally {
        claim.release();
      }
    });
}

/**
 * A connection error as it first appears: ioredis retries a Redis that does not answer
 * several times a second, and each retry raises the same error again.
 */
function warnOnce(warn: (message: string) => void): (e: Error) => void {
  let last: { message: string; at: number } | undefined;
  return (e) => {
    const now = Date.now();
    if (last?.message === e.message && now - last.at < REPEAT_WARNING_MS) return;
    last = { message: e.message, at: now };
    warn(e.message);
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
