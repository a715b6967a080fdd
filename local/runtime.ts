// startLocal(): the whole local runtime in one process — DynamoDB Local, s3rver, the local SQS and its workers,
// the scheduler and the API Gateway stand-in — wired from functions/manifest.ts so it serves exactly what the cloud does.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  httpFunctions,
  queues as queueDefs,
  s3Notifications,
  schedules as scheduleDefs,
  throttling as manifestThrottling,
} from "../functions/manifest.ts";
import {
  TENANT_LIMIT_ENV,
  type ThrottlingDef,
  routeLimitsOf,
  tenantLimitEnv,
  unknownRouteKeys,
} from "../shared/config/throttle.ts";
import { type TokenIssuer, createIssuer } from "./auth/issuer.ts";
import { type DynamoDbLocal, ensureTable, startDynamoDbLocal } from "./dynamodb.ts";
import { type CompiledRoute, compileRoutes } from "./http/routes.ts";
import { startHttpServer, type RunningHttpServer } from "./http/server.ts";
import { RouteThrottle } from "./http/throttle.ts";
import { LOCAL_REGION } from "./lambda/context.ts";
import { HandlerCache, fileImporter } from "./lambda/modules.ts";
import { type LocalS3, startLocalS3 } from "./s3.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import type { SqsHandler } from "./sqs/event-source.ts";
import { startSqsEndpoint } from "./sqs/endpoint.ts";
import { LocalSqs, type QueueInfo } from "./sqs/local-sqs.ts";
import { type LocalLog, type LocalLogLevel, localLog } from "./util/log.ts";

/** The repository root: manifest entries are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export const LOCAL_TABLE_NAME = "customer-master";
export const LOCAL_BUCKETS = { uploads: "uploads", backups: "backups" } as const;

export interface StartLocalOptions {
  /** 0 picks a free port. Default 3000. */
  port?: number;
  /** Where everything is kept between runs: dynamodb/, s3/, queues/, issuer/, scheduler.json. */
  dataDir: string;
  host?: string;
  /** Fire schedules on their own (default true); runNow works either way. */
  schedulerEnabled?: boolean;
  /** Multiplies queue visibility timeouts (default 1); tests use a small value for quick retries. */
  visibilityScale?: number;
  /** Level of the runtime's own plain log lines (default info). */
  logLevel?: LocalLogLevel;
  /** A plain line per HTTP request (default true when logLevel is info). */
  accessLog?: boolean;
  /** LOG_LEVEL for the handlers' JSON logs, unless LOG_LEVEL is already set. */
  handlerLogLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
  /**
   * Throttling as the cloud applies it: per-route token buckets in the API Gateway stand-in and the tenant limit
   * passed to the handlers as TENANT_RATE_PER_SECOND / TENANT_BURST. `false` turns both off (benchmarks).
   * @default the `throttling` of functions/manifest.ts
   */
  throttling?: ThrottlingDef | false;
}

export interface LocalInfo {
  s3Endpoint: string;
  uploadsBucket: string;
  backupsBucket: string;
  dynamodbEndpoint: string;
  tableName: string;
  sqsEndpoint: string;
}

export interface LocalRuntime {
  baseUrl: string;
  info: LocalInfo;
  queues: LocalSqs;
  scheduler: Scheduler;
  issuer: TokenIssuer;
  /** Body of GET /_local/info. */
  describe(): LocalInfo & {
    queues: Record<string, QueueInfo>;
    schedules: ReturnType<Scheduler["info"]>;
  };
  /** Closes the server, s3rver, the queues (saved) and the scheduler, and kills java; idempotent. */
  stop(): Promise<void>;
}

/** Points the handlers' SDK clients and config at the local services; must run before any handler module loads. */
function setHandlerEnv(
  info: LocalInfo,
  queueUrls: Record<string, string>,
  handlerLogLevel: string | undefined,
  throttling: ThrottlingDef | false,
): void {
  const env = process.env;
  env.STAGE = "local";
  env.TABLE_NAME = info.tableName;
  env.AWS_REGION = LOCAL_REGION;
  env.AWS_DEFAULT_REGION = LOCAL_REGION;
  env.AWS_ACCESS_KEY_ID = "local";
  env.AWS_SECRET_ACCESS_KEY = "local";
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  env.AWS_ENDPOINT_URL_DYNAMODB = info.dynamodbEndpoint;
  env.AWS_ENDPOINT_URL_S3 = info.s3Endpoint;
  env.AWS_ENDPOINT_URL_SQS = info.sqsEndpoint;
  // s3rver predates the SDK's default CRC checksums.
  env.AWS_REQUEST_CHECKSUM_CALCULATION = "WHEN_REQUIRED";
  env.AWS_RESPONSE_CHECKSUM_VALIDATION = "WHEN_REQUIRED";
  env.UPLOADS_BUCKET = info.uploadsBucket;
  env.BACKUPS_BUCKET = info.backupsBucket;
  env.QUEUE_URLS = JSON.stringify(queueUrls);
  // Locally, reminder e-mails are logged, never sent (the cloud stacks set `ses` and the sender identity).
  env.EMAIL_DELIVERY = "log";
  delete env.EMAIL_SENDER;
  if (handlerLogLevel) env.LOG_LEVEL ??= handlerLogLevel;
  // The tenant limit, as CDK passes it to the functions (absent: off).
  for (const name of Object.values(TENANT_LIMIT_ENV)) delete env[name];
  Object.assign(env, tenantLimitEnv(throttling ? throttling.tenant : undefined));
}

/** The stand-in's per-route buckets from the throttling config, or none; refuses a config naming an unknown route. */
function routeThrottle(throttling: ThrottlingDef | false, routes: CompiledRoute[]): RouteThrottle | undefined {
  if (!throttling) return undefined;
  const unknown = unknownRouteKeys(
    throttling,
    routes.map((r) => r.routeKey),
  );
  if (unknown.length > 0) throw new Error(`throttling names routes the manifest does not have: ${unknown.join(", ")}`);
  const byKey = new Map(routes.map((r) => [r.routeKey, r]));
  return new RouteThrottle((key) => {
    const route = byKey.get(key);
    return (route && routeLimitsOf(throttling, route)) ?? throttling.default;
  });
}

export async function startLocal(opts: StartLocalOptions): Promise<LocalRuntime> {
  const host = opts.host ?? "127.0.0.1";
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const log: LocalLog = localLog(opts.logLevel ?? "info");
  const tableName = LOCAL_TABLE_NAME;
  const throttling = opts.throttling ?? manifestThrottling;
  const routes = compileRoutes(httpFunctions);
  const throttle = routeThrottle(throttling, routes);
  // package.json pins node >= 20.19; the SDK's reminder about its future Node 22 floor is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  let dynamo: DynamoDbLocal | undefined;
  let dynamoStarting: Promise<DynamoDbLocal> | undefined;
  let s3: LocalS3 | undefined;
  let sqs: LocalSqs | undefined;
  let sqsEndpoint: Awaited<ReturnType<typeof startSqsEndpoint>> | undefined;
  let scheduler: Scheduler | undefined;
  let http: RunningHttpServer | undefined;

  const onExit = () => {
    // Last resort when the process ends without stop(): java must not outlive us, queued messages must not be lost.
    sqs?.saveSync();
    dynamo?.killSync();
  };
  process.on("exit", onExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const quietly = (p: Promise<unknown> | undefined) =>
        p?.catch((err: unknown) => log.error(`while stopping: ${String(err)}`));
      await quietly(http?.close());
      await quietly(scheduler?.stop());
      await quietly(sqs?.stop());
      await Promise.all([quietly(s3?.close()), quietly(sqsEndpoint?.close())]);
      // Also covers a failed start while java was still coming up.
      await quietly(dynamoStarting?.then((d) => d.stop()));
      process.off("exit", onExit);
    })();
    return stopping;
  };

  try {
    const issuer = createIssuer(dataDir);
    const handlers = new HandlerCache(fileImporter(REPO_ROOT));

    dynamoStarting = startDynamoDbLocal({ dbPath: resolve(dataDir, "dynamodb"), log });
    dynamoStarting.then((d) => (dynamo = d)).catch(() => undefined);
    sqsEndpoint = await startSqsEndpoint({ host, getSqs: () => sqs });
    sqs = await LocalSqs.open({
      dir: resolve(dataDir, "queues"),
      queues: queueDefs,
      endpoint: sqsEndpoint.url,
      visibilityScale: opts.visibilityScale ?? 1,
      loadHandler: (entry) => handlers.get(entry) as Promise<SqsHandler>,
      log,
    });
    const localSqs = sqs;
    const sendTo = async (queue: string, body: string) => localSqs.send(queue, { body });
    s3 = await startLocalS3({
      directory: resolve(dataDir, "s3"),
      host,
      buckets: LOCAL_BUCKETS,
      notifications: s3Notifications,
      send: sendTo,
      log,
    });
    dynamo = await dynamoStarting;
    const created = await ensureTable(dynamo.endpoint, tableName, log);
    log.info(`DynamoDB Local on ${dynamo.endpoint}, table ${tableName} ${created === "created" ? "created" : "found"}`);

    const info: LocalInfo = {
      s3Endpoint: s3.endpoint,
      uploadsBucket: LOCAL_BUCKETS.uploads,
      backupsBucket: LOCAL_BUCKETS.backups,
      dynamodbEndpoint: dynamo.endpoint,
      tableName,
      sqsEndpoint: sqsEndpoint.url,
    };
    setHandlerEnv(info, sqs.urls(), opts.handlerLogLevel, throttling);

    scheduler = new Scheduler({
      schedules: scheduleDefs,
      send: async (queue, body) => ({ messageId: (await localSqs.send(queue, { body })).messageId }),
      stateFile: resolve(dataDir, "scheduler.json"),
      enabled: opts.schedulerEnabled ?? true,
      log,
    });
    const localScheduler = scheduler;

    const describe = () => ({ ...info, queues: localSqs.stats(), schedules: localScheduler.info() });
    http = await startHttpServer({
      host,
      port: opts.port ?? 3000,
      routes,
      handlers,
      issuer,
      info: describe,
      runSchedule: (name) => (localScheduler.has(name) ? localScheduler.runNow(name) : Promise.resolve(undefined)),
      log,
      accessLog: opts.accessLog ?? (opts.logLevel ?? "info") === "info",
      throttle,
    });
    log.info(
      throttling
        ? `throttling: ${throttling.default.rateLimit}/s burst ${throttling.default.burstLimit} per route` +
            `${throttling.routes ? ` (${Object.keys(throttling.routes).length} routes with their own)` : ""}` +
            `, tenant ${throttling.tenant ? `${throttling.tenant.ratePerSecond}/s burst ${throttling.tenant.burst}` : "unlimited"}`
        : "throttling: off",
    );

    sqs.start();
    await scheduler.start();
    return { baseUrl: http.url, info, queues: sqs, scheduler, issuer, describe, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
