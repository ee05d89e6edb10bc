/**
 * The port model: FP operations, loads, stores and issue slots of one loop iteration,
 * and the accumulation chains that bound it when the ports do not.
 */
import { WINDOW, type MachineModel } from "./machine-model.ts";

/** Port usage of one iteration of a run-time loop (or of the top level, run once). */
export class Ports {
  arith = 0;
  loads = 0;
  stores = 0;
  instr = 0;
  /** Latency of the accumulation chain carried from one iteration to the next. */
  carried = 0;
  /** Latency of accumulation chains within one iteration (independent across iterations). */
  local = 0;
  /** Cycles of nested run-time loops per iteration. */
  nested = 0;
  /** Instructions of nested run-time loops per iteration. */
  nestedInstr = 0;
  /**
   * Latency of a chain carried from one iteration to the next through a nested run-time
   * loop: its reduction target does not depend on this loop, so each execution of the
   * nested loop waits for the previous one's accumulators.
   */
  nestedCarried = 0;

  constructor(private readonly machine: MachineModel) {}

  /**
   * Cycles of one iteration. Independent chains overlap in the out-of-order window:
   * chains within an iteration with the following iterations, a carried chain with the
   * next execution of the loop (`instrPerExecution` instructions later).
   */
  cycles(instrPerExecution: number): number {
    const m = this.machine;
    // Independent chains worth overlapping: enough to keep every FP port busy through an
    // add's latency; beyond that the port throughput bounds the loop.
    const maxChainsInFlight = m.fpPorts * m.chainLatency.add;
    const overlap = (instr: number) =>
      1 + Math.min(maxChainsInFlight - 1, WINDOW / Math.max(instr, 1));
    const chain = Math.max(
      this.carried / overlap(instrPerExecution),
      this.local / overlap(this.instr),
    );
    const throughput = Math.max(
      this.arith / m.fpPorts,
      this.loads / 2,
      this.stores,
      this.instr / m.issueWidth,
    );
    return Math.max(
      Math.max(throughput, chain) + this.nested,
      this.nestedCarried / overlap(instrPerExecution),
    );
  }
}
