/** What the importer refuses: a file it cannot read, a model it does not support, a task name. */

/** One node (or graph input, or initializer) the importer cannot take, and why. */
export interface Refusal {
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

export class OnnxReadError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "OnnxReadError";
  }
}

/** Every offending node at once, before any work is done. */
export class UnsupportedModelError extends Error {
  constructor(
    readonly file: string,
    readonly refusals: readonly Refusal[],
  ) {
    super(
      `${file}: cannot import ${refusals.length} node${refusals.length > 1 ? "s" : ""}: ` +
        refusals.map((r) => `${r.node} (${r.op}): ${r.reason}`).join("; "),
    );
    this.name = "UnsupportedModelError";
  }
}

export class UnknownTaskError extends Error {
  constructor(
    readonly file: string,
    readonly task: string,
    known: readonly string[],
  ) {
    super(`${file} has no task '${task}'; its tasks are ${known.join(", ")} (see 'colt import')`);
    this.name = "UnknownTaskError";
  }
}
