/**
 * Workers announce themselves in one Redis hash (name -> JSON), refreshed by a heartbeat:
 * the tuner checks that some live worker serves its machine key, `colt workers` lists them.
 */
import type { RedisClient } from "bullmq";

export const WORKERS_HASH = "colt:workers";
/** Machine keys tuners have queued jobs for (with or without a worker), with the last time. */
export const QUEUES_HASH = "colt:queues";
export const HEARTBEAT_MS = 2_000;
/** A worker not heard from for this long is taken as gone. */
export const LIVE_MS = 5 * HEARTBEAT_MS;

export interface WorkerInfo {
  readonly name: string;
  readonly machineKey: string;
  readonly cpuModel: string;
  readonly cores: string;
  readonly threads: number;
  readonly jobsDone: number;
  /** Milliseconds since the epoch. */
  readonly lastSeen: number;
}

export async function announce(client: RedisClient, info: WorkerInfo): Promise<void> {
  await client.hset(WORKERS_HASH, { [info.name]: JSON.stringify(info) });
}

export async function withdraw(client: RedisClient, name: string): Promise<void> {
  await client.hdel(WORKERS_HASH, name);
}

export async function listWorkers(client: RedisClient): Promise<WorkerInfo[]> {
  const all = await client.hgetall(WORKERS_HASH);
  return Object.values(all)
    .map((text) => JSON.parse(text) as WorkerInfo)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function noteQueue(client: RedisClient, machineKey: string): Promise<void> {
  await client.hset(QUEUES_HASH, { [machineKey]: Date.now() });
}

/** Every machine key with a queue or a worker. */
export async function machineKeys(client: RedisClient): Promise<string[]> {
  const workers = await listWorkers(client);
  const queued = Object.keys(await client.hgetall(QUEUES_HASH));
  return [...new Set([...queued, ...workers.map((w) => w.machineKey)])].sort();
}

export function isLive(w: WorkerInfo, now = Date.now()): boolean {
  return now - w.lastSeen <= LIVE_MS;
}
