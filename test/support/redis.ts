/** A private redis-server on a free loopback port, and `colt worker` processes, for tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/colt.js", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Output of a child process so far, and a wait for a pattern in it. */
export class Watched {
  out = "";
  private readonly waiters: { re: Pick<RegExp, "test">; resolve: () => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    const take = (d: Buffer) => {
      this.out += d.toString();
      for (const w of [...this.waiters]) if (w.re.test(this.out)) w.resolve();
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    this.exited = new Promise((done) =>
      child.on("close", (code, signal) => done({ code, signal })),
    );
  }

  /** Resolves once the output has `count` lines matching `re` (which must be global). */
  waitForLines(re: RegExp, count: number, timeoutMs = 60_000): Promise<void> {
    return this.waitFor({ test: (text) => (text.match(re) ?? []).length >= count }, timeoutMs);
  }

  waitFor(re: Pick<RegExp, "test">, timeoutMs = 60_000): Promise<void> {
    if (re.test(this.out)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${String(re)} within ${timeoutMs} ms; output:\n${this.out}`)),
        timeoutMs,
      );
      this.waiters.push({
        re,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/**
 * Starts redis-server on a free port: no persistence, or with `aof` on its port with an
 * append-only file there, synced at every write; `password` turns on AUTH.
 */
export async function startRedis(
  password?: string,
  aof?: { dir: string; port: number },
): Promise<{ url: string; server: Watched }> {
  const port = aof?.port ?? (await freePort());
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""];
  if (aof) args.push("--appendonly", "yes", "--appendfsync", "always", "--dir", aof.dir);
  else args.push("--appendonly", "no");
  if (password) args.push("--requirepass", password);
  const server = new Watched(spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] }));
  await server.waitFor(/Ready to accept connections/, 10_000);
  const auth = password ? `:${password}@` : "";
  return { url: `redis://${auth}127.0.0.1:${port}`, server };
}

/** Runs `colt ARGS` in the background with the given environment. */
export function startColt(args: readonly string[], env: NodeJS.ProcessEnv): Watched {
  return new Watched(
    spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/** Job ids a worker's log says it finished, with the status each measured. */
export function finishedJobs(log: string): string[] {
  return [...log.matchAll(/: job (\w+) (?!started)([\w-]+)$/gm)].map((m) => m[1]);
}
