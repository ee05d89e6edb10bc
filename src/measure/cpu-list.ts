/** CPU lists in taskset's syntax ("3", "0-1", "0-3,6"): what measurements and builds are pinned to. */
import { cpus } from "node:os";

export class CoresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoresError";
  }
}

/** Parses a taskset-style list ("3", "0-3,6") into sorted core numbers of this machine. */
export function parseCores(text: string, available = cpus().length): number[] {
  const cores = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new CoresError(`--cores '${text}' is not a core list such as 3 or 0-3,6`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new CoresError(`--cores '${text}': the range ${part} runs backwards`);
    for (let c = from; c <= to; c++) {
      if (c >= available)
        throw new CoresError(
          `--cores '${text}': core ${c} does not exist (cores 0-${available - 1})`,
        );
      cores.add(c);
    }
  }
  return [...cores].sort((a, b) => a - b);
}

/** This machine's CPUs that the list `taken` leaves free. */
export function cpusLeftFree(taken: string): number[] {
  const used = new Set(parseCores(taken));
  return [...Array(cpus().length).keys()].filter((c) => !used.has(c));
}
