/**
 * A measurement worker: takes jobs only from the queue of its machine key, rebuilds each
 * candidate from its data, measures it with the local engine (its own binary cache and
 * lock, pinned to its own cores) and returns the measurement. A candidate that crashes,
 * hangs or computes wrongly is a classified measurement, not a failed job: only invalid
 * data fails a job, and then for good (no retry).
 */
import { UnrecoverableError, Worker, type Job, type RedisClient } from "bullmq";
import type { Compiler } from "../measure/compiler.ts";
import { MeasurementEngine } from "../measure/engine.ts";
import type { MemoryLimit } from "../measure/memory-limit.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { QueueConnection } from "./connection.ts";
import { InvalidJobError } from "./errors.ts";
import { parseJob, scheduleOfJob, type JobResult, type MeasureJob } from "./job.ts";
import { machineKey, queueName, type MachineKind } from "./machine-key.ts";
import { announce, HEARTBEAT_MS, withdraw } from "./registry.ts";

export interface WorkerOptions {
  readonly connection: QueueConnection;
  readonly name: string;
  /** CPU list (taskset syntax) the kernels run on. */
  readonly cores: string;
  readonly kind: MachineKind;
  readonly compiler: Compiler;
  /** This worker's cache: binaries, references and its measurement lock. */
  readonly cacheDir: string;
  readonly memoryLimit: MemoryLimit;
  /** How long a job stays leased without a renewal (a killed worker's job waits this long). */
  readonly leaseMs: number;
  readonly runTimeoutMs?: number;
  /** Called as each job starts ("started") and ends (the status it measured). */
  readonly onJob?: (id: string, event: string) => void;
  /** Connection errors (ioredis retries them; a restarted Redis is reconnected to). */
  readonly onError: (e: Error) => void;
}

export class MeasurementWorker {
  readonly key: string;
  private jobsDone = 0;
  private readonly engines = new Map<string, MeasurementEngine>();
  private worker?: Worker<MeasureJob, JobResult>;
  private heartbeat?: ReturnType<typeof setInterval>;
  private ready = false;

  constructor(private readonly o: WorkerOptions) {
    this.key = machineKey(o.kind);
  }

  async start(): Promise<void> {
    this.worker = new Worker<MeasureJob, JobResult>(
      queueName(this.key),
      (job) => this.process(job),
      {
        connection: this.o.connection.options,
        concurrency: 1,
        lockDuration: this.o.leaseMs,
        stalledInterval: Math.max(1_000, Math.floor(this.o.leaseMs / 2)),
        // A job whose worker died is delivered again; twice dead means the job kills workers.
        maxStalledCount: 2,
        autorun: false,
      },
    );
    this.worker.on("error", (e) => this.o.onError(e));
    await this.worker.waitUntilReady();
    this.ready = true;
    await this.beat();
    this.heartbeat = setInterval(
      () => void this.beat().catch((e: Error) => this.o.onError(e)),
      HEARTBEAT_MS,
    );
    void this.worker.run();
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    if (!this.worker) return;
    // A worker stopped before Redis ever answered has nothing to withdraw.
    if (this.ready) await withdraw(await this.client(), this.o.name);
    await this.worker.close();
  }

  private client(): Promise<RedisClient> {
    if (!this.worker) throw new Error("the worker is not started");
    return this.worker.client;
  }

  private async beat(): Promise<void> {
    await announce(await this.client(), {
      name: this.o.name,
      machineKey: this.key,
      cpuModel: this.o.kind.cpuModel,
      cores: this.o.cores,
      threads: this.o.kind.threads,
      jobsDone: this.jobsDone,
      lastSeen: Date.now(),
    });
  }

  private async process(job: Job<MeasureJob, JobResult>): Promise<JobResult> {
    let data: MeasureJob;
    let schedule: Schedule;
    try {
      data = parseJob(job.data);
      if (data.threads !== this.o.kind.threads)
        throw new InvalidJobError(
          `the job asks for ${data.threads} threads; this worker runs ${this.o.kind.threads}`,
        );
      schedule = scheduleOfJob(data);
    } catch (e) {
      throw new UnrecoverableError(`invalid job data: ${(e as Error).message}`);
    }
    this.o.onJob?.(job.id ?? "", "started");
    const measurement = await this.engine(data).measure(schedule);
    this.jobsDone++;
    this.o.onJob?.(job.id ?? "", measurement.status);
    return { measurement, worker: this.o.name };
  }

  /** One engine per seed and timing setting, so references are computed once per program and seed. */
  private engine(job: MeasureJob): MeasurementEngine {
    const id = `${job.seed}-${job.minMs}`;
    let engine = this.engines.get(id);
    if (!engine) {
      engine = new MeasurementEngine({
        compiler: this.o.compiler,
        cacheDir: this.o.cacheDir,
        cores: this.o.cores,
        threads: job.threads,
        seed: job.seed,
        minMs: job.minMs,
        memoryLimit: this.o.memoryLimit,
        ...(this.o.runTimeoutMs !== undefined ? { runTimeoutMs: this.o.runTimeoutMs } : {}),
      });
      this.engines.set(id, engine);
    }
    return engine;
  }
}
