import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/calibrate-once.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Compiling and running C dominates; two workers match the two cores.
    pool: "forks",
    maxWorkers: 2,
  },
});
