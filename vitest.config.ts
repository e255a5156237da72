import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests sit beside the code and run on the TypeScript sources.
        resolve: { conditions: ["source"] },
        test: { name: "unit", include: ["packages/*/src/**/*.test.ts"], sequence: { groupOrder: 0 } },
      },
      {
        // Integration tests start real redis-server and herald processes (the built CLI).
        resolve: { conditions: ["source"] },
        test: {
          name: "integration",
          include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: true,
          maxWorkers: 2,
          // After the unit tests: integration files start processes and want the cores.
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The end-to-end suites again, each on a private 3-master Redis Cluster in cluster mode.
        // Left out: the suites that drive one Redis by hand (restart it empty, pause it) and the
        // cluster-specific ones, which run above.
        resolve: { conditions: ["source"] },
        test: {
          name: "on-cluster",
          include: [
            "test/{delivery,ordering,history,priority,retries,cluster,canary,bad-input,fuzz,lifecycle,backpressure,missed-while-resubscribing}.test.ts",
          ],
          env: { HERALD_TEST_REDIS: "cluster" },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
