/** Names what went wrong with a candidate's or the reference's run, if anything did. */
import type { FailureClass } from "./errors.ts";
import type { RunOutcome } from "./run.ts";

export interface RunFailure {
  readonly failure: FailureClass;
  readonly detail: string;
}

/** What the harness prints when an allocation fails (under the address-space limit, say). */
const HARNESS_OUT_OF_MEMORY = "colt harness: out of memory";
/** libgomp cannot map a thread's stack under the address-space limit. */
const THREAD_CREATION_FAILED = "libgomp: Thread creation failed";

export function runFailure(r: RunOutcome, timeoutMs: number): RunFailure | undefined {
  const stderr = r.stderr.slice(0, 300);
  if (r.timedOut) return { failure: "timeout", detail: `no result within ${timeoutMs} ms` };
  if (r.signal === "SIGXCPU")
    return { failure: "timeout", detail: "CPU time limit reached (killed by SIGXCPU)" };
  if (r.stderr.includes(HARNESS_OUT_OF_MEMORY) || r.stderr.includes(THREAD_CREATION_FAILED))
    return { failure: "out-of-memory", detail: stderr.trim() };
  if (r.signal) return { failure: "crash", detail: `killed by ${r.signal}` };
  if (r.code !== 0)
    return { failure: "crash", detail: `exit code ${r.code}${stderr ? `: ${stderr}` : ""}` };
  return undefined;
}
