/**
 * Why an LLM call gave no usable proposal. Every kind is a ProposerError, so the search
 * counts it as that model's error and falls back; the message carries the model, the
 * provider and the HTTP status, and never a key (messages pass through a Redactor).
 */
import { ProposerError, type ProposalUsage } from "../../search/proposer.ts";

export type FailureKind =
  /** The provider answered with an HTTP error status (after retries when retryable). */
  | "http"
  /** No connection, reset, DNS: nothing came back. */
  | "network"
  /** No answer within the model's timeoutMs. */
  | "timeout"
  /** A 200 whose envelope is unreadable (empty body, not JSON). */
  | "invalid-response"
  /** The model's text holds no readable joint action. */
  | "answer"
  /** The model's text is over the size cap (answer-cap.ts). */
  | "oversized"
  /** The model failed repeatedly and is skipped for a while. */
  | "benched"
  /** Replay: this request is not in the records (counted, when replaying with --remeasure). */
  | "replay-miss";

export interface FailureDetails {
  readonly provider: string;
  readonly status?: number;
  readonly attempts?: number;
  readonly usage?: ProposalUsage;
}

export class LlmCallError extends ProposerError {
  readonly provider: string;
  readonly status?: number;
  readonly attempts: number;

  constructor(
    model: string,
    readonly kind: FailureKind,
    readonly detail: string,
    details: FailureDetails,
  ) {
    const status = details.status !== undefined ? ` ${details.status}` : "";
    const tries = (details.attempts ?? 1) > 1 ? ` after ${details.attempts} attempts` : "";
    super(model, `${details.provider} ${kind}${status}${tries}: ${detail}`, details.usage);
    this.name = "LlmCallError";
    this.provider = details.provider;
    this.status = details.status;
    this.attempts = details.attempts ?? 1;
  }
}

/** Transport failures (the model was unreachable) as opposed to bad answers. */
export function isOutage(kind: FailureKind): boolean {
  return kind === "http" || kind === "network" || kind === "timeout" || kind === "invalid-response";
}

/**
 * A replay that cannot continue: the records do not hold what this run asks for. Not a
 * ProposerError: a strict replay that diverged is not a reproduction any more.
 */
export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayError";
  }
}
