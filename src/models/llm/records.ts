/**
 * The record of every LLM exchange of a run, one JSON object per line in
 * `<run-dir>/llm-records.jsonl`: the request as sent (system and user text, no key), and
 * the reply text with its usage (only the start of an answer over the size cap), or the
 * failure. Replay (replay.ts) finds a record by model name and a hash of the request text.
 */
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { z } from "zod";
import { LlmCallError, type FailureKind } from "./errors.ts";
import type { Exchange, ExchangeReply } from "./exchange.ts";
import type { LlmRequest } from "./prompt.ts";
import type { Redactor } from "./redact.ts";

export const RECORDS_FILE = "llm-records.jsonl";

const FAILURE_KINDS = [
  "http",
  "network",
  "timeout",
  "invalid-response",
  "answer",
  "oversized",
  "benched",
  "replay-miss",
] as const satisfies readonly FailureKind[];

const recordSchema = z
  .object({
    v: z.literal(1),
    seq: z.number().int().nonnegative(),
    model: z.string(),
    provider: z.string(),
    modelId: z.string(),
    hash: z.string(),
    request: z.object({ system: z.string(), prompt: z.string() }),
    reply: z
      .object({
        text: z.string(),
        tokensIn: z.number(),
        tokensOut: z.number(),
        latencyMs: z.number(),
        attempts: z.number().int().positive(),
        truncatedBytes: z.number().int().positive().optional(),
      })
      .optional(),
    error: z
      .object({
        kind: z.enum(FAILURE_KINDS),
        status: z.number().int().optional(),
        detail: z.string(),
        attempts: z.number().int().positive(),
        latencyMs: z.number(),
      })
      .optional(),
  })
  .refine((r) => (r.reply === undefined) !== (r.error === undefined), {
    message: "a record holds exactly one of reply or error",
  });

export type LlmRecord = z.infer<typeof recordSchema>;

/** The replay key of a request: the model's name and a SHA-256 of the text sent. */
export function requestHash(model: string, request: LlmRequest): string {
  return createHash("sha256")
    .update(JSON.stringify([model, request.system, request.prompt]))
    .digest("hex");
}

/** Appends records to a file as they happen, so a run that dies keeps its records. */
export class Recorder {
  private seq = 0;

  constructor(
    private readonly file: string,
    private readonly redactor: Redactor,
  ) {}

  get count(): number {
    return this.seq;
  }

  write(record: Omit<LlmRecord, "v" | "seq">): void {
    const line = JSON.stringify({ v: 1, seq: this.seq++, ...record });
    appendFileSync(this.file, this.redactor.redact(line) + "\n");
  }
}

export interface ModelIdentity {
  readonly name: string;
  readonly provider: string;
  readonly modelId: string;
}

/** Records every exchange of one model, answers and failures alike. */
export class RecordingExchange implements Exchange {
  constructor(
    private readonly inner: Exchange,
    private readonly recorder: Recorder,
    private readonly model: ModelIdentity,
  ) {}

  async send(request: LlmRequest): Promise<ExchangeReply> {
    const base = {
      model: this.model.name,
      provider: this.model.provider,
      modelId: this.model.modelId,
      hash: requestHash(this.model.name, request),
      request: { system: request.system, prompt: request.prompt },
    };
    try {
      const reply = await this.inner.send(request);
      this.recorder.write({ ...base, reply });
      return reply;
    } catch (e) {
      if (!(e instanceof LlmCallError)) throw e;
      this.recorder.write({
        ...base,
        error: {
          kind: e.kind,
          ...(e.status !== undefined ? { status: e.status } : {}),
          detail: e.detail,
          attempts: e.attempts,
          latencyMs: e.usage?.latencyMs ?? 0,
        },
      });
      throw e;
    }
  }
}

/** Reads and validates a records file; errors name the line. */
export function readRecords(file: string): LlmRecord[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: LlmRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new RecordsError(`${file}:${i + 1}: not a JSON line`);
    }
    const r = recordSchema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new RecordsError(
        `${file}:${i + 1}: ${issue.path.join(".") || "record"}: ${issue.message}`,
      );
    }
    out.push(r.data);
  });
  return out;
}

export class RecordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordsError";
  }
}
