/**
 * Measures through a queue of workers: each candidate is one job on the queue of the
 * tuner's machine key, and each result is returned the moment it arrives (so the
 * recording wrapper writes it to the database as it arrives). The job id is a hash of
 * the candidate, so submitting a candidate again (a resumed tuner) finds the job made
 * before, finished or not, instead of measuring it twice.
 */
import { Queue, QueueEvents } from "bullmq";
import type { Measurement } from "../measure/engine.ts";
import type { Runner } from "../measure/runner.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { QueueConnection } from "./connection.ts";
import { NoWorkerError, RemoteJobError } from "./errors.ts";
import { jobId, jobOf, type JobResult, type JobSettings, type MeasureJob } from "./job.ts";
import { queueName } from "./machine-key.ts";
import { isLive, listWorkers, noteQueue } from "./registry.ts";

/** Finished jobs are kept this long, for tuners that resume. */
const KEEP_FINISHED_S = 7 * 24 * 3600;
const POLL_MS = 500;

export interface QueueRunnerOptions {
  readonly connection: QueueConnection;
  readonly machineKey: string;
  readonly settings: JobSettings;
  /** How long to wait for a live worker of the machine key before giving up. */
  readonly waitForWorkerMs: number;
}

/** The promise's value, or undefined when the deadline passes first. */
async function beforeDeadline<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export class QueueRunner implements Runner {
  /** Measurements by the worker that made them. */
  readonly byWorker = new Map<string, number>();
  /** Final-round measurements asked for so far, by job id. */
  private readonly again = new Map<string, number>();
  private readonly queue: Queue<MeasureJob, JobResult>;
  /** Made on the first measurement: its reading loop never ends against a silent Redis. */
  private events?: QueueEvents;
  private ready?: Promise<QueueEvents>;
  private lastError?: Error;

  constructor(private readonly o: QueueRunnerOptions) {
    const name = queueName(o.machineKey);
    this.queue = new Queue<MeasureJob, JobResult>(name, { connection: o.connection.options });
    // Connection errors are retried by ioredis (a restarted Redis is reconnected to); the
    // last one is kept for the message when the wait for a worker runs out.
    // Each pending add() listens for the queue closing; a round adds many at once.
    this.queue.setMaxListeners(0);
    this.queue.on("error", this.keepError);
  }

  private readonly keepError = (e: Error): void => {
    this.lastError = e;
  };

  /**
   * Waits for a live worker of the machine key; throws NoWorkerError when the wait runs
   * out and `orFail`, else answers whether one came.
   */
  async awaitWorker(orFail: boolean): Promise<boolean> {
    const deadline = Date.now() + this.o.waitForWorkerMs;
    // A poll cut short by the deadline on a loaded machine is not Redis failing to answer:
    // the message blames Redis only when no poll of the whole wait got an answer.
    let answered = false;
    for (;;) {
      const client = await beforeDeadline(this.queue.client, deadline);
      const workers = client && (await beforeDeadline(listWorkers(client), deadline));
      answered ||= workers !== undefined;
      if (workers?.some((w) => w.machineKey === this.o.machineKey && isLive(w))) return true;
      if (Date.now() >= deadline) {
        if (!orFail) return false;
        const waitedS = Math.round(this.o.waitForWorkerMs / 1000);
        const why = !answered
          ? `Redis did not answer (${this.lastError?.message ?? "no reply"})`
          : undefined;
        throw new NoWorkerError(this.o.connection.display, this.o.machineKey, waitedS, why);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  measureAll(schedules: readonly Schedule[]): Promise<Measurement[]> {
    return Promise.all(schedules.map((s) => this.measure(s)));
  }

  /** A finished job of the same content is answered from the queue: a resumed run measures nothing twice. */
  measure(schedule: Schedule): Promise<Measurement> {
    const data = jobOf(schedule, this.o.settings);
    return this.run(data, jobId(data, this.o.machineKey));
  }

  /** A job of its own (the content's id and a count), so a worker measures it anew. */
  measureAgain(schedule: Schedule): Promise<Measurement> {
    const data = jobOf(schedule, this.o.settings);
    const id = jobId(data, this.o.machineKey);
    const n = (this.again.get(id) ?? 0) + 1;
    this.again.set(id, n);
    return this.run(data, `${id}-again-${n}`);
  }

  private async run(data: MeasureJob, id: string): Promise<Measurement> {
    this.ready ??= this.prepare();
    const events = await this.ready;
    const job = await this.queue.add("measure", data, {
      jobId: id,
      attempts: 1,
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    });
    let result: JobResult;
    try {
      result = (await job.waitUntilFinished(events)) as JobResult;
    } catch (e) {
      throw new RemoteJobError(this.o.connection.display, id, (e as Error).message);
    }
    this.byWorker.set(result.worker, (this.byWorker.get(result.worker) ?? 0) + 1);
    return result.measurement;
  }

  /** Worker names and how many of this run's measurements each made. */
  workers(): Record<string, number> {
    return Object.fromEntries([...this.byWorker].sort(([a], [b]) => a.localeCompare(b)));
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }

  private async prepare(): Promise<QueueEvents> {
    const events = new QueueEvents(this.queue.name, { connection: this.o.connection.options });
    events.on("error", this.keepError);
    this.events = events;
    await events.waitUntilReady();
    await noteQueue(await this.queue.client, this.o.machineKey);
    return events;
  }
}
