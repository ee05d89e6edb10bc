/**
 * The Redis URL of a queue: parsed into ioredis options, and shown or recorded only with
 * its password replaced (a URL's credentials are a secret like an API key).
 */
import type { ConnectionOptions } from "bullmq";
import { QueueError } from "./errors.ts";

export interface QueueConnection {
  readonly options: ConnectionOptions;
  /** The URL without credentials: what messages, logs and records say. */
  readonly display: string;
  /** Removes the password from a text (an error message) before it is shown. */
  redact(text: string): string;
}

export function redactUrl(url: string): string {
  return url.replace(/^([a-z][\w+.-]*:\/\/)[^@/]*@/i, "$1[redacted]@");
}

export function parseQueueUrl(url: string): QueueConnection {
  const display = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError(
      `--queue '${display}' is not a URL; expected redis://[:PASSWORD@]HOST:PORT`,
      display,
    );
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new QueueError(`--queue '${display}' is not a redis:// or rediss:// URL`, display);
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    throw new QueueError(`--queue '${display}': the database '${db}' is not a number`, display);
  const password = decodeURIComponent(parsed.password);
  return {
    display,
    redact: (text) => (password.length > 0 ? text.split(password).join("[redacted]") : text),
    options: {
      host: parsed.hostname,
      port: parsed.port === "" ? 6379 : Number(parsed.port),
      ...(parsed.username !== "" ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(password !== "" ? { password } : {}),
      ...(db !== "" ? { db: Number(db) } : {}),
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
      // BullMQ's blocking commands need it; ioredis reconnects by itself after a Redis restart.
      maxRetriesPerRequest: null,
    },
  };
}
