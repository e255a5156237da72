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
    ],
  },
});
