// Test projects: unit (no services), integration + e2e (one local runtime with DynamoDB Local per run), infra (CDK).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    env: {
      LOG_LEVEL: "SILENT",
      TABLE_NAME: "unit-table",
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], setupFiles: ["test/support/unit-env.ts"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-local.ts"],
          setupFiles: ["test/support/local-env.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      { extends: true, test: { name: "infra", include: ["test/infra/**/*.test.ts"], testTimeout: 120_000 } },
    ],
  },
});
