/** What `colt workers` shows: the workers that announced themselves and the queue depths. */
import { Queue } from "bullmq";
import type { QueueConnection } from "./connection.ts";
import { queueName } from "./machine-key.ts";
import { listWorkers, machineKeys, type WorkerInfo } from "./registry.ts";

export interface QueueDepth {
  readonly machineKey: string;
  readonly waiting: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
}

export interface Fleet {
  readonly workers: readonly WorkerInfo[];
  readonly queues: readonly QueueDepth[];
}

export async function readFleet(connection: QueueConnection): Promise<Fleet> {
  const probe = new Queue("colt-probe", { connection: connection.options });
  try {
    const client = await probe.client;
    const workers = await listWorkers(client);
    const queues: QueueDepth[] = [];
    for (const key of await machineKeys(client)) {
      const queue = new Queue(queueName(key), { connection: connection.options });
      try {
        const c = await queue.getJobCounts("waiting", "active", "completed", "failed");
        queues.push({
          machineKey: key,
          waiting: c.waiting ?? 0,
          active: c.active ?? 0,
          completed: c.completed ?? 0,
          failed: c.failed ?? 0,
        });
      } finally {
        await queue.close();
      }
    }
    return { workers, queues };
  } finally {
    await probe.close();
  }
}
