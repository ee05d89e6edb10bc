/**
 * SIGINT and SIGTERM while a run is recorded: the first asks the run to stop (its abort
 * signal fires; measurements under way finish, the rest are abandoned) so the command
 * can mark it `interrupted` and say how to resume it; a second one ends the process at
 * once, after `onForce` has recorded what it can.
 */
import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type StopSignal = (typeof SIGNALS)[number];

export class Interruption {
  private readonly controller = new AbortController();
  private received?: StopSignal;
  private readonly handlers = new Map<StopSignal, () => void>();

  constructor(private readonly onForce: (signal: StopSignal) => void) {
    for (const name of SIGNALS) {
      const handler = () => this.receive(name);
      this.handlers.set(name, handler);
      process.on(name, handler);
    }
  }

  /** Aborted at the first signal. */
  get stop(): AbortSignal {
    return this.controller.signal;
  }

  /** The first signal received, if any. */
  get signal(): StopSignal | undefined {
    return this.received;
  }

  /** The shell's convention for a process ended by the signal: 128 + its number (130, 143). */
  get exitCode(): number {
    return 128 + constants.signals[this.received ?? "SIGINT"];
  }

  /** Restores the default behaviour of the signals. */
  dispose(): void {
    for (const [name, handler] of this.handlers) process.off(name, handler);
  }

  private receive(name: StopSignal): void {
    if (this.received) {
      this.onForce(name);
      process.exit(this.exitCode);
    }
    this.received = name;
    this.controller.abort();
  }
}
