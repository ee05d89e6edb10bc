/** A refused transformation: says which stage, which loop and why, for users and models alike. */
export class ScheduleError extends Error {
  constructor(
    readonly reason: string,
    readonly stage?: string,
    readonly loop?: string,
    /** 1-based position of the transformation in the trace, when known. */
    readonly step?: number,
  ) {
    const where = [stage ? `stage ${stage}` : "", loop ? `loop ${loop}` : ""]
      .filter(Boolean)
      .join(", ");
    super(`${step !== undefined ? `step ${step}: ` : ""}${where ? `${where}: ` : ""}${reason}`);
    this.name = "ScheduleError";
  }

  atStep(step: number): ScheduleError {
    return new ScheduleError(this.reason, this.stage, this.loop, step);
  }
}

/** A line of schedule text that does not parse. */
export class ScheduleSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`line ${line}: ${reason}: '${text}'`);
    this.name = "ScheduleSyntaxError";
  }
}
