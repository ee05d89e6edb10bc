/**
 * Features of a scheduled program for the learned cost model: a fixed-length vector,
 * computed from the lowered loop nest in time linear in its size (see nest-analysis.ts).
 * "Work" below means store executions per kernel call, one per element (vector lanes
 * count); fractions of work weight each store statement by how often it runs.
 */
import { compulsoryBytes, flopCount } from "../ir/program.ts";
import type { MachineProfile } from "../measure/profile.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { analyticBreakdown, coreHz } from "./analytic.ts";
import { machineModel } from "./machine-model.ts";
import { analyzeNest, type StoreInfo } from "./nest-analysis.ts";

/** What each entry of the feature vector is, in order. */
export const FEATURE_NAMES = [
  // Size of the problem.
  "log2 FLOPs of the program",
  "log2 compulsory bytes (inputs + outputs)",
  "log2 arithmetic intensity of the program (FLOPs / compulsory bytes)",
  // The analytic model and its parts (log2 of nanoseconds).
  "log2 analytic estimate (ns)",
  "log2 analytic compute time (ns)",
  "log2 analytic L2->L1 traffic time (ns)",
  "log2 analytic memory (beyond L2) traffic time (ns)",
  // Vectorization.
  "fraction of work in explicit vector loops",
  "work-weighted log2 vector width (explicit vector loops)",
  "fraction of work the C compiler is expected to vectorize (loops, unrolled copies)",
  "number of loops the C compiler is expected to vectorize",
  // Unrolling and register use.
  "work-weighted log2 unrolled copies in the innermost loop body",
  "fraction of work storing into register accumulators",
  "fraction of work storing into local (cache_write) buffers",
  "fraction of work in reduction updates",
  "fraction of work in latency-bound reduction chains (target invariant in the innermost loop)",
  "work-weighted log2 independent accumulators of those chains",
  "work-weighted loads per element",
  // Parallelism.
  "log2 trip count of the largest parallel loop",
  "fraction of work inside parallel loops",
  "log2 parallel region entries per call",
  "fraction of the analytic time spent entering parallel regions",
  // Loop structure.
  "number of loops",
  "number of run-time loops (neither unrolled, by the schedule or the compiler, nor vector)",
  "number of small loops the C compiler unrolls completely",
  "maximum loop depth",
  "number of guards (ifs and guarded trip counts)",
  "fraction of work under guards (tails)",
  "work-weighted log2 trip count of the innermost run-time loop",
  "log2 instructions per call (estimate)",
  "fraction of instructions that are loop overhead",
  // Innermost-loop access strides of reads.
  "fraction of reads (work-weighted) contiguous along the innermost loop",
  "fraction of reads invariant along the innermost loop",
  "fraction of reads strided along the innermost loop",
  "fraction of reads from register accumulators",
  "work-weighted log2 stride of strided reads (elements)",
  // Footprints and traffic.
  "work-weighted log2 bytes of the outermost loop fitting L1 (48 KiB)",
  "fraction of work with no enclosing loop fitting L1",
  "work-weighted log2 bytes of the outermost loop fitting L2 (the profile's private cache)",
  "fraction of work with no enclosing loop fitting L2",
  "log2 bytes touched by the whole kernel",
  "log2 bytes missing L1 per call",
  "log2 bytes missing L2 per call",
  "log2 (bytes missing L1 / compulsory bytes)",
  "log2 (bytes missing L2 / compulsory bytes)",
  "log2 FLOPs per byte missing L1",
  "log2 FLOPs per byte missing L2",
  // Storage transformations.
  "number of pack / cache_read buffers",
  "log2 bytes of pack buffers",
  "fraction of work copying into pack buffers",
  "number of intermediate (temp) buffers",
  "log2 bytes of intermediate buffers",
  "fraction of work in transcendental expressions (exp, log, tanh, sigmoid)",
  "work per FLOP (store executions / FLOPs)",
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

const log2p = (x: number) => Math.log2(1 + Math.max(0, x));

/** The feature vector of a schedule (length FEATURE_COUNT, every entry finite). */
export function extractFeatures(
  schedule: Schedule,
  profile: MachineProfile,
  threads = 1,
): number[] {
  const lp = schedule.lower();
  const machine = machineModel(profile);
  const l2 = machine.l2Bytes;
  const a = analyzeNest(lp, machine, threads);
  const t = analyticBreakdown(a, profile, threads);
  const flops = flopCount(schedule.program);
  const bytes = compulsoryBytes(schedule.program);

  const sum = (f: (s: StoreInfo) => number) => {
    let acc = 0;
    for (const s of a.stores) acc += s.iters * f(s);
    return acc;
  };
  const work = sum(() => 1);
  const frac = (pred: (s: StoreInfo) => boolean) =>
    work > 0 ? sum((s) => (pred(s) ? 1 : 0)) / work : 0;
  /** Mean of `f` over the work where `pred` holds (0 when none). */
  const mean = (f: (s: StoreInfo) => number, pred: (s: StoreInfo) => boolean = () => true) => {
    const w = sum((s) => (pred(s) ? 1 : 0));
    return w > 0 ? sum((s) => (pred(s) ? f(s) : 0)) / w : 0;
  };

  // Reads, weighted by the work of their statement.
  let readWork = 0;
  const readFrac = { contiguous: 0, invariant: 0, strided: 0, register: 0 };
  let stridedLog = 0;
  for (const s of a.stores) {
    for (const r of s.reads) {
      readWork += s.iters;
      readFrac[r.cls] += s.iters;
      if (r.cls === "strided")
        stridedLog += s.iters * log2p(Number.isFinite(r.stride) ? Math.abs(r.stride) : 1 << 20);
    }
  }
  const readShare = (x: number) => (readWork > 0 ? x / readWork : 0);

  const packs = lp.buffers.filter((b) => b.role === "pack");
  const temps = lp.buffers.filter((b) => b.role === "temp");
  const bytesOf = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 4);
  const ns = (seconds: number) => log2p(seconds * 1e9);
  const totalCycles = t.totalSeconds * coreHz(profile);

  const f = [
    log2p(flops),
    log2p(bytes),
    log2p(flops / Math.max(bytes, 1)),

    ns(t.totalSeconds),
    ns(t.computeSeconds),
    ns(t.l2Seconds),
    ns(t.memorySeconds),

    frac((s) => s.lanes > 0),
    mean(
      (s) => Math.log2(s.lanes),
      (s) => s.lanes > 0,
    ),
    frac((s) => s.autoVector),
    a.compilerVectorized,

    mean((s) => Math.log2(Math.max(1, s.copies))),
    frac((s) => s.buffer.registers),
    frac((s) => s.buffer.role === "local"),
    frac((s) => s.reduction),
    frac((s) => s.chain),
    mean(
      (s) => Math.log2(Math.max(1, s.chains)),
      (s) => s.chain,
    ),
    mean((s) => s.loadsPerElement),

    log2p(a.parallelExtent),
    frac((s) => s.parallel),
    log2p(a.parallelEntries),
    totalCycles > 0 ? Math.min(1, a.parallelOverheadCycles / totalCycles) : 0,

    a.loops,
    a.runtimeLoops,
    a.compilerUnrolled,
    a.maxDepth,
    a.guards,
    frac((s) => s.tail),
    mean((s) => log2p(s.innerTrip)),
    log2p(a.instructions),
    a.instructions > 0 ? a.loopOverheadInstructions / a.instructions : 0,

    readShare(readFrac.contiguous),
    readShare(readFrac.invariant),
    readShare(readFrac.strided),
    readShare(readFrac.register),
    readFrac.strided > 0 ? stridedLog / readFrac.strided : 0,

    mean(
      (s) => log2p(s.fitL1),
      (s) => s.fitL1 > 0 && s.fitL1 <= machine.l1Bytes,
    ),
    frac((s) => s.fitL1 === 0),
    mean(
      (s) => log2p(s.fitL2),
      (s) => s.fitL2 > 0 && s.fitL2 <= l2,
    ),
    frac((s) => s.fitL2 === 0),
    log2p(a.footprint),
    log2p(a.trafficL1),
    log2p(a.trafficL2),
    Math.log2((a.trafficL1 + 64) / Math.max(bytes, 1)),
    Math.log2((a.trafficL2 + 64) / Math.max(bytes, 1)),
    Math.log2((flops + 1) / (a.trafficL1 + 64)),
    Math.log2((flops + 1) / (a.trafficL2 + 64)),

    packs.length,
    log2p(packs.reduce((n, b) => n + bytesOf(b.shape), 0)),
    frac((s) => s.buffer.role === "pack"),
    temps.length,
    log2p(temps.reduce((n, b) => n + bytesOf(b.shape), 0)),
    frac((s) => s.transcendental),
    work / Math.max(flops, 1),
  ];
  if (f.length !== FEATURE_COUNT) throw new Error("cost model: feature vector length mismatch");
  return f.map((x) => (Number.isFinite(x) ? x : 0));
}
