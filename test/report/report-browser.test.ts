/**
 * A real report of a real `colt tune --out` run, opened in headless Chromium: no console
 * errors, no network request, charts present with one point per trial / expansion.
 * The screenshot is kept in test-artifacts/.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const CHROMIUM = process.env.COLT_CHROMIUM ?? "/usr/bin/chromium";
const cache = calibratedCacheDir("colt-report-");
const env = { COLT_CACHE_DIR: cache };
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts");

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)(
  "HTML report in headless Chromium",
  () => {
    it("renders offline with its charts, no console error and no request", async () => {
      const out = join(cache, "run");
      const tuned = colt(
        ["tune", "matmul", "--trials", "12", "--min-ms", "5", "--json", "--out", out],
        env,
      );
      expect(tuned.code, tuned.stderr).toBe(0);
      const { run } = JSON.parse(tuned.stdout) as { run: string };
      const file = join(out, "report.html");
      const html = readFileSync(file, "utf8");
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
      const db = new Database(join(cache, "colt.db"), { readonly: true });
      const expansions = (
        db.prepare("SELECT count(*) AS n FROM expansions WHERE run_id = ?").get(run) as {
          n: number;
        }
      ).n;
      db.close();
      expect(expansions).toBeGreaterThan(0);
      // `colt report` writes the same report from the database.
      const again = join(cache, "again.html");
      const r = colt(["report", run, "--out", again], env);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(again, "utf8")).toBe(html);

      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
        const errors: string[] = [];
        const requests: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        page.on("pageerror", (e) => errors.push(e.message));
        const url = pathToFileURL(file).href;
        page.on("request", (q) => {
          if (q.url() !== url) requests.push(q.url());
        });
        await page.goto(url, { waitUntil: "load" });
        const points = (chart: string) =>
          page.locator(`figure[data-chart="${chart}"] [aria-roledescription="point"]`).count();
        expect(await points("convergence")).toBe(12);
        expect(await points("expansions")).toBe(expansions);
        expect(await page.locator('figure[data-chart="models"] svg').count()).toBe(1);
        expect(await page.locator('pre[data-section="c"]').textContent()).toContain(
          "void colt_kernel(",
        );
        expect(await page.locator('pre[data-section="nest"]').textContent()).toContain("for C.i");
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  },
);
