// Vitest globalSetup of the integration project: one local runtime (DynamoDB Local, s3rver, queues, workers, HTTP)
// per run, in a fresh temp dir. Test files run in other processes and reach it over HTTP and the SDK only.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { checkJava } from "../../local/java.ts";
import { startLocal } from "../../local/runtime.ts";

export interface ProvidedLocal {
  baseUrl: string;
  tableName: string;
  dynamodbEndpoint: string;
  s3Endpoint: string;
  uploadsBucket: string;
  backupsBucket: string;
  sqsEndpoint: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    local: ProvidedLocal;
  }
}

export default async function setup(project: TestProject) {
  const java = checkJava();
  if (!java.ok) throw new Error(java.message);
  // The runtime keeps viewers a minute (1 s by default): a path that saw a user's change only because the TTL ran out,
  // not because the write cleared the cache, fails its test instead of passing by luck.
  process.env.VIEWER_CACHE_MS = "60000";
  const dataDir = await mkdtemp(join(tmpdir(), "customer-master-it-"));
  const runtime = await startLocal({
    port: 0,
    dataDir,
    schedulerEnabled: false,
    // Health worker: 6 x 30 s x 0.02 = 3.6 s before a failed message is retried.
    visibilityScale: 0.02,
    logLevel: (process.env.LOCAL_LOG_LEVEL as "info" | "warn" | "error" | "silent" | undefined) ?? "warn",
    accessLog: false,
    handlerLogLevel: "ERROR",
    // The limiter runs on every request (its cost is real) with limits no test reaches; throttle.test.ts tests limits.
    throttling: {
      default: { rateLimit: 100_000, burstLimit: 100_000 },
      publicRoutes: { rateLimit: 100_000, burstLimit: 100_000 },
      routes: {},
      tenant: { ratePerSecond: 100_000, burst: 1_000_000 },
    },
  });
  project.provide("local", {
    baseUrl: runtime.baseUrl,
    tableName: runtime.info.tableName,
    dynamodbEndpoint: runtime.info.dynamodbEndpoint,
    s3Endpoint: runtime.info.s3Endpoint,
    uploadsBucket: runtime.info.uploadsBucket,
    backupsBucket: runtime.info.backupsBucket,
    sqsEndpoint: runtime.info.sqsEndpoint,
  });
  return async () => {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
