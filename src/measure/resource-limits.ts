/**
 * Kernel-enforced limits on candidate and reference processes, applied by util-linux
 * `prlimit` (setrlimit, then exec) with a fixed argv: Node cannot call setrlimit itself,
 * and a `sh -c 'ulimit ...'` string would put a shell between COLT and the binary.
 * RLIMIT_AS makes a wild allocation fail inside the candidate (the harness reports it and
 * the run is classified out-of-memory) instead of paging the machine to a halt;
 * RLIMIT_CPU ends a candidate that outlives COLT itself (killed before its timer fired).
 */
import { tensorBytes } from "../ir/footprint.ts";
import type { Program } from "../ir/program.ts";
import type { MemoryLimit } from "./memory-limit.ts";

export interface ProcessLimits {
  /** RLIMIT_AS, bytes. */
  readonly addressSpaceBytes: bigint;
  /** RLIMIT_CPU soft limit (SIGXCPU), seconds of CPU over all threads; the hard limit is one more. */
  readonly cpuSeconds: number;
}

const MIB = 1024n * 1024n;
/** libc, libgomp, the loader and the main stack. */
const BASE_ALLOWANCE = 512n * MIB;
/** A thread's stack and its glibc malloc arena reservation (64 MiB on 64-bit). */
const PER_THREAD_ALLOWANCE = 256n * MIB;
/** The tensors, and as much again twice over for packed copies and workspace. */
const TENSOR_FACTOR = 3n;

export function processLimits(
  program: Program,
  opts: { readonly threads: number; readonly memoryLimit: MemoryLimit; readonly timeoutMs: number },
): ProcessLimits {
  const data = TENSOR_FACTOR * tensorBytes(program);
  const capped = data < opts.memoryLimit.bytes ? data : opts.memoryLimit.bytes;
  return {
    addressSpaceBytes: capped + BASE_ALLOWANCE + BigInt(opts.threads) * PER_THREAD_ALLOWANCE,
    cpuSeconds: Math.ceil((opts.timeoutMs / 1000) * opts.threads) + 1,
  };
}

/** The argv prefix that runs a command under `limits`. */
export function prlimitPrefix(limits: ProcessLimits): string[] {
  return [
    "prlimit",
    `--as=${limits.addressSpaceBytes}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    "--",
  ];
}
