/**
 * Local stand-ins for LLM endpoints, for tests only: one HTTP server on 127.0.0.1 (random
 * port) that speaks the OpenAI chat-completions API (POST /v1/chat/completions) and the
 * Anthropic messages API (POST /v1/messages). Each model id has a script of steps, used
 * in order; when a model's script is exhausted it answers with a valid joint action
 * built from the legal transformations listed in the prompt.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Step =
  /** A 200 answer whose message text is `text`. */
  | {
      readonly kind: "answer";
      readonly text: string;
      readonly tokensIn?: number;
      readonly tokensOut?: number;
    }
  /** An HTTP error status, optionally with headers (Retry-After) and a body. */
  | {
      readonly kind: "status";
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Waits `delayMs` before doing `then` (the client's timeout may fire first). */
  | { readonly kind: "slow"; readonly delayMs: number; readonly then: Step }
  /** 200 with an empty body. */
  | { readonly kind: "empty" }
  /**
   * A valid joint action built from the prompt (a listed legal move), optionally naming
   * another next model and wrapped the way models without structured output answer.
   */
  | {
      readonly kind: "default";
      readonly nextModel?: string;
      readonly wrap?: "prose" | "fence" | "trailing-comma";
    };

export interface RecordedRequest {
  readonly api: "openai" | "anthropic";
  readonly model: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
  readonly prompt: string;
}

export interface MockOptions {
  /** Scripts by model id. */
  readonly scripts?: Readonly<Record<string, readonly Step[]>>;
  /** next_model of default answers, by model id (default: the model id itself). */
  readonly nextModel?: (modelId: string, call: number) => string;
  /** What to do once a model's script is used up (default: a default answer). */
  readonly afterScript?: Step;
}

export class MockLlmServer {
  readonly requests: RecordedRequest[] = [];
  /** 200 answers with a readable envelope sent, by model id (what usage is counted from). */
  readonly answered = new Map<string, number>();
  private readonly queues = new Map<string, Step[]>();
  private readonly calls = new Map<string, number>();
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly options: MockOptions = {}) {
    for (const [model, steps] of Object.entries(options.scripts ?? {}))
      this.queues.set(model, [...steps]);
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Scripted steps not used yet, by model id. */
  remaining(model: string): number {
    return this.queues.get(model)?.length ?? 0;
  }

  requestsFor(model: string): RecordedRequest[] {
    return this.requests.filter((r) => r.model === model);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(599);
        res.end(String(e));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<
      string,
      unknown
    >;
    const api = req.url?.endsWith("/messages") ? "anthropic" : "openai";
    const model = String(body.model);
    const prompt = promptOf(body);
    this.requests.push({ api, model, headers: req.headers, body, prompt });
    const call = (this.calls.get(model) ?? 0) + 1;
    this.calls.set(model, call);
    const step = this.queues.get(model)?.shift() ?? this.options.afterScript ?? { kind: "default" };
    await this.perform(step, api, model, prompt, call, res);
  }

  private async perform(
    step: Step,
    api: "openai" | "anthropic",
    model: string,
    prompt: string,
    call: number,
    res: ServerResponse,
  ): Promise<void> {
    switch (step.kind) {
      case "slow":
        await new Promise((r) => setTimeout(r, step.delayMs));
        // The client may have given up meanwhile; writing then is harmless.
        if (res.destroyed) return;
        return this.perform(step.then, api, model, prompt, call, res);
      case "status":
        res.writeHead(step.status, { "content-type": "application/json", ...step.headers });
        res.end(step.body ?? JSON.stringify({ error: { message: `scripted ${step.status}` } }));
        return;
      case "empty":
        res.writeHead(200, { "content-type": "application/json" });
        res.end();
        return;
      case "default":
      case "answer": {
        const text =
          step.kind === "answer"
            ? step.text
            : wrap(
                defaultAnswer(
                  prompt,
                  step.nextModel ?? this.options.nextModel?.(model, call) ?? model,
                  call,
                ),
                step.wrap,
              );
        const tokensIn = step.kind === "answer" ? (step.tokensIn ?? 100) : 100;
        const tokensOut = step.kind === "answer" ? (step.tokensOut ?? 20) : 20;
        this.answered.set(model, (this.answered.get(model) ?? 0) + 1);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(envelope(api, model, text, tokensIn, tokensOut)));
        return;
      }
    }
  }
}

function envelope(
  api: "openai" | "anthropic",
  model: string,
  text: string,
  tokensIn: number,
  tokensOut: number,
) {
  if (api === "anthropic") {
    return {
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model,
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: tokensIn, output_tokens: tokensOut },
    };
  }
  return {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: tokensIn,
      completion_tokens: tokensOut,
      total_tokens: tokensIn + tokensOut,
    },
  };
}

/** The text of every message (system and user), as the model would read it. */
function promptOf(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const add = (c: unknown) => {
    if (typeof c === "string") parts.push(c);
    else if (Array.isArray(c)) for (const p of c) add((p as { text?: unknown }).text);
  };
  add(body.system);
  for (const m of (body.messages as { content?: unknown }[] | undefined) ?? []) add(m.content);
  return parts.join("\n");
}

function wrap(json: string, how: "prose" | "fence" | "trailing-comma" | undefined): string {
  switch (how) {
    case undefined:
      return json;
    case "prose":
      return `Looking at the loop nest, the best next step is clear.\n${json}\nThis should help.`;
    case "fence":
      return `Here is my answer:\n\n\`\`\`json\n${json}\n\`\`\`\n`;
    case "trailing-comma":
      return json.replace(/\]/, ",]").replace(/\}$/, ",}");
  }
}

/** The legal transformations the prompt lists (lines "- <transformation>" in that section). */
export function legalMovesInPrompt(prompt: string): string[] {
  const start = prompt.indexOf("## Legal next transformations");
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of prompt.slice(start).split("\n").slice(1)) {
    if (line.startsWith("## ")) break;
    if (line.startsWith("- ")) out.push(line.slice(2).trim());
  }
  return out;
}

/** A valid joint action: the call-th legal move of the prompt (cycling). */
export function defaultAnswer(prompt: string, nextModel: string, call: number): string {
  const moves = legalMovesInPrompt(prompt);
  const move = moves.length > 0 ? [moves[call % moves.length]] : [];
  return JSON.stringify({
    transformations: move,
    next_model: nextModel,
    rationale: "mock",
  });
}
