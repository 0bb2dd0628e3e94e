import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Each file installs its own Pulumi mocks; isolate them.
          pool: "forks",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "app",
          include: ["test/app/**/*.test.ts"],
          globalSetup: ["test/app/global-setup.ts"],
          pool: "forks",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          pool: "forks",
          // One Docker engine: files run one after another, in one process.
          poolOptions: { forks: { singleFork: true } },
          // A first `up` builds every image; a later one may wait out a container's waitTimeout.
          testTimeout: 900_000,
          hookTimeout: 1_200_000,
        },
      },
    ],
  },
});
