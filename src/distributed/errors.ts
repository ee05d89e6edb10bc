/** Errors of measuring through a queue of workers: each names the queue (password redacted). */
export class QueueError extends Error {
  constructor(
    message: string,
    readonly queue: string,
  ) {
    super(message);
    this.name = "QueueError";
  }
}

/** No live worker serves the tuner's machine key within the wait. */
export class NoWorkerError extends QueueError {
  constructor(queue: string, machineKey: string, waitedS: number, why?: string) {
    super(
      `no worker for machine key ${machineKey} on ${queue} after ${waitedS} s${why ? ` (${why})` : ""}; start 'colt worker --queue ...' on a machine of this kind, or pass --local-fallback`,
      queue,
    );
    this.name = "NoWorkerError";
  }
}

/** Job data that is not a valid measurement job (a worker refuses it for good). */
export class InvalidJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidJobError";
  }
}

/** A job the worker refused (invalid data) or could not measure (its toolchain failed). */
export class RemoteJobError extends QueueError {
  constructor(queue: string, jobId: string, reason: string) {
    super(`the measurement job ${jobId} on ${queue} failed: ${reason}`, queue);
    this.name = "RemoteJobError";
  }
}
