// The CLI's sources bundled by esbuild (a main module and the chunks it loads when used),
// rebuilt whenever a source changes.
//
// Run through tsx, each of the CLI's ~230 modules goes through tsx's loader hooks: about
// 0.7 s before a command starts, paid by every `colt` process (a test suite starts hundreds).
// esbuild, which tsx itself uses, bundles the sources in about 0.2 s; the bundle starts in
// about half the time. It is kept in node_modules/.cache/colt-cli/, named by a hash of the
// sources' paths, sizes and modification times, so an edited source is never run stale.
// Where it cannot be built (a read-only install), the caller runs the sources through tsx.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A bundle of older sources is removed a day after it was built (a tune may run for hours). */
const STALE_MS = 24 * 3600 * 1000;

/**
 * The bundle of the current sources of the project at `root`: its main module's path, or
 * undefined if it cannot be built.
 */
export async function freshBundle(root = ROOT) {
  const cache = join(root, "node_modules", ".cache", "colt-cli");
  const src = join(root, "src");
  const dir = join(cache, sourcesKey(src));
  const main = join(dir, "main.mjs");
  if (existsSync(main)) return main;
  try {
    await build(src, cache, dir);
    return main;
  } catch {
    // Not an error of the command the user ran: the sources run through tsx instead.
    return undefined;
  }
}

function sourcesKey(src) {
  // This file too: a change of the build options below rebuilds bundles of the same sources.
  const self = statSync(fileURLToPath(import.meta.url));
  const hash = createHash("sha256").update(`bundle.js ${self.size} ${self.mtimeMs}\n`);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = statSync(path);
        hash.update(`${relative(src, path)} ${s.size} ${s.mtimeMs}\n`);
      }
    }
  };
  walk(src);
  return hash.digest("hex").slice(0, 16);
}

async function build(src, cache, dir) {
  const { build: esbuild } = await import("esbuild");
  mkdirSync(cache, { recursive: true });
  // Built aside and renamed into place, so a concurrent `colt` never imports half a bundle.
  const partial = `${dir}.${process.pid}.partial`;
  try {
    await esbuild({
      entryPoints: {
        main: join(src, "cli", "main.ts"),
        // Run in its own process by compare/ort-run.ts, which finds it beside itself.
        "ort-worker": join(src, "compare", "ort-worker.ts"),
      },
      outdir: partial,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      // Modules the sources import dynamically (the LLM client, the queue) stay chunks of their own, loaded when used.
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "linked",
      logLevel: "silent",
    });
    renameSync(partial, dir);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    // Another process renamed the same bundle into place first.
    if (existsSync(join(dir, "main.mjs"))) return;
    throw e;
  }
  // Bundles of older sources, once no process started from one can still be running.
  for (const old of readdirSync(cache)) {
    const path = join(cache, old);
    // Another process may be removing the same bundle.
    const built = statSync(path, { throwIfNoEntry: false });
    if (path !== dir && built && Date.now() - built.mtimeMs > STALE_MS)
      rmSync(path, { recursive: true, force: true });
  }
}
