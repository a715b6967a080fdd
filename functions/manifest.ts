// The one list of deployable units: HTTP route groups, queue workers, schedules and S3 notifications.
// CDK builds its functions, routes, queues and rules from it; the local runtime serves exactly the same.
import type { ThrottlingDef } from "../shared/config/throttle.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteDef {
  method: HttpMethod;
  /** API Gateway path with {param} placeholders; `${method} ${path}` is the event's routeKey. */
  path: string;
  /** false for the few public routes; every other route sits behind the JWT authorizer. */
  auth: boolean;
}

/** Access a function needs to a bucket's objects. */
export type BucketAccess = Partial<Record<"uploads" | "backups", "read" | "write" | "readwrite">>;

export interface HttpFunctionDef {
  /** Path of the module that exports `handler`, relative to the repo root. */
  entry: string;
  /** What the function may do to the table. */
  table: "none" | "read" | "readwrite";
  /** Logical queue names it sends to. */
  sendsTo?: readonly string[];
  buckets?: BucketAccess;
  routes: readonly RouteDef[];
}

export interface QueueDef {
  /** Worker module exporting an SQS `handler` that returns partial batch failures. */
  worker: string;
  table: "none" | "read" | "readwrite";
  /** Lambda timeout; the queue's visibility timeout is six times this. */
  timeoutSeconds: number;
  batchSize: number;
  /** Deliveries before a message moves to the queue's DLQ. */
  maxReceiveCount: number;
  sendsTo?: readonly string[];
  buckets?: BucketAccess;
}

export interface ScheduleDef {
  /** EventBridge schedule expression, `rate(...)` or `cron(...)`, evaluated in UTC. */
  expression: string;
  queue: string;
  /** Message body sent on each tick (the tick time is added as `scheduledAt`). */
  message: Record<string, unknown>;
}

export interface S3NotificationDef {
  bucket: "uploads";
  prefix: string;
  queue: string;
}

const r = (method: HttpMethod, path: string, auth = true): RouteDef => ({ method, path, auth });

export const httpFunctions = {
  health: { entry: "functions/http/health.ts", table: "none", routes: [r("GET", "/v1/health", false)] },
  docs: {
    entry: "functions/http/docs.ts",
    table: "none",
    routes: [r("GET", "/openapi.json", false), r("GET", "/docs", false)],
  },
  customers: {
    entry: "functions/http/customers.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/customers"),
      r("GET", "/v1/customers"),
      r("GET", "/v1/customers/{id}"),
      r("PATCH", "/v1/customers/{id}"),
      r("DELETE", "/v1/customers/{id}"),
      r("GET", "/v1/customers/{id}/360"),
    ],
  },
  /** Restore from the recycle bin or to a point in time (reads the backups bucket). */
  customerRestore: {
    entry: "functions/http/customer-restore.ts",
    table: "readwrite",
    buckets: { backups: "read" },
    routes: [r("POST", "/v1/customers/{id}/restore")],
  },
  contacts: {
    entry: "functions/http/contacts.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/customers/{id}/contacts"),
      r("GET", "/v1/customers/{id}/contacts"),
      r("GET", "/v1/customers/{id}/contacts/{contactId}"),
      r("PATCH", "/v1/customers/{id}/contacts/{contactId}"),
      r("DELETE", "/v1/customers/{id}/contacts/{contactId}"),
    ],
  },
  interactions: {
    entry: "functions/http/interactions.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/customers/{id}/interactions"),
      r("GET", "/v1/customers/{id}/interactions"),
      r("GET", "/v1/customers/{id}/interactions/{interactionId}"),
      r("PATCH", "/v1/customers/{id}/interactions/{interactionId}"),
    ],
  },
  satisfactionReport: {
    entry: "functions/http/reports-satisfaction.ts",
    table: "read",
    routes: [r("GET", "/v1/reports/satisfaction")],
  },
  audit: {
    entry: "functions/http/audit.ts",
    table: "read",
    routes: [r("GET", "/v1/audit"), r("GET", "/v1/audit/verify")],
  },
  org: {
    entry: "functions/http/org.ts",
    table: "readwrite",
    routes: [
      r("GET", "/v1/departments"),
      r("POST", "/v1/departments"),
      r("PATCH", "/v1/departments/{id}"),
      r("GET", "/v1/users/{id}"),
      r("PUT", "/v1/users/{id}"),
      r("POST", "/v1/users/{id}/handover"),
    ],
    sendsTo: ["jobs"],
  },
  jobs: { entry: "functions/http/jobs.ts", table: "read", routes: [r("GET", "/v1/jobs/{id}")] },
  settings: {
    entry: "functions/http/settings.ts",
    table: "readwrite",
    routes: [r("GET", "/v1/settings"), r("PUT", "/v1/settings")],
  },
  orders: {
    entry: "functions/http/orders.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/orders"),
      r("GET", "/v1/orders"),
      r("GET", "/v1/orders/{id}"),
      r("PATCH", "/v1/orders/{id}"),
      r("POST", "/v1/orders/{id}/{action}"),
    ],
  },
  imports: {
    entry: "functions/http/imports.ts",
    table: "readwrite",
    buckets: { uploads: "readwrite" },
    /** An import started over the API sends its upload deadline to the imports queue. */
    sendsTo: ["imports"],
    routes: [
      r("POST", "/v1/imports"),
      r("GET", "/v1/imports"),
      r("GET", "/v1/imports/{id}"),
      r("GET", "/v1/imports/templates/{entity}"),
    ],
  },
  exports: {
    entry: "functions/http/exports.ts",
    table: "readwrite",
    buckets: { uploads: "read" },
    sendsTo: ["jobs"],
    routes: [r("POST", "/v1/exports"), r("GET", "/v1/exports"), r("GET", "/v1/exports/{id}")],
  },
  batchUpdates: {
    entry: "functions/http/batch-updates.ts",
    table: "readwrite",
    sendsTo: ["jobs"],
    routes: [r("POST", "/v1/batch-updates")],
  },
  salesReports: {
    entry: "functions/http/reports-sales.ts",
    table: "read",
    routes: [r("GET", "/v1/reports/sales"), r("GET", "/v1/reports/top-customers")],
  },
  backups: {
    entry: "functions/http/backups.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/backups"),
      r("GET", "/v1/backups"),
      r("GET", "/v1/backups/{id}"),
      r("POST", "/v1/backups/{id}/restore"),
    ],
    sendsTo: ["jobs"],
    buckets: { backups: "read" },
  },
  classification: {
    entry: "functions/http/classification.ts",
    table: "readwrite",
    routes: [
      r("GET", "/v1/classification/schemes"),
      r("POST", "/v1/classification/schemes"),
      r("GET", "/v1/classification/schemes/{id}"),
      r("PUT", "/v1/classification/schemes/{id}"),
      r("POST", "/v1/classification/schemes/{id}/preview"),
      r("POST", "/v1/classification/schemes/{id}/apply"),
      r("GET", "/v1/classification/schemes/{id}/distribution"),
      r("GET", "/v1/classification/value-model"),
      r("PUT", "/v1/classification/value-model"),
      r("GET", "/v1/classification/pyramid"),
      r("GET", "/v1/customers/{id}/categories"),
    ],
    sendsTo: ["jobs"],
  },
  tasks: {
    entry: "functions/http/tasks.ts",
    table: "readwrite",
    routes: [r("POST", "/v1/tasks"), r("GET", "/v1/tasks"), r("GET", "/v1/tasks/{id}"), r("PATCH", "/v1/tasks/{id}")],
  },
  reminderRules: {
    entry: "functions/http/reminder-rules.ts",
    table: "readwrite",
    routes: [
      r("POST", "/v1/reminder-rules"),
      r("GET", "/v1/reminder-rules"),
      r("GET", "/v1/reminder-rules/{id}"),
      r("PUT", "/v1/reminder-rules/{id}"),
      r("DELETE", "/v1/reminder-rules/{id}"),
      r("POST", "/v1/reminder-rules/backfill"),
    ],
    sendsTo: ["jobs"],
  },
  notifications: {
    entry: "functions/http/notifications.ts",
    table: "readwrite",
    routes: [r("GET", "/v1/notifications"), r("PATCH", "/v1/notifications/{id}")],
  },
} as const satisfies Record<string, HttpFunctionDef>;

export const queues = {
  health: {
    worker: "functions/workers/health-worker.ts",
    table: "readwrite",
    timeoutSeconds: 30,
    batchSize: 10,
    maxReceiveCount: 3,
  },
  /** Background jobs (handover, later classification, imports, exports, backups): one job message per invocation. */
  jobs: {
    worker: "functions/workers/jobs-worker.ts",
    table: "readwrite",
    timeoutSeconds: 60,
    batchSize: 1,
    maxReceiveCount: 5,
    sendsTo: ["jobs"],
    /** Imports read uploads and write error reports; exports write their files; backups read and write theirs. */
    buckets: { uploads: "readwrite", backups: "readwrite" },
  },
  /** S3 ObjectCreated under imports/ in the uploads bucket: each object starts one import job on the jobs queue. */
  imports: {
    worker: "functions/workers/imports-worker.ts",
    table: "readwrite",
    timeoutSeconds: 30,
    batchSize: 10,
    maxReceiveCount: 5,
    /** Jobs to start; upload deadlines not yet due go back to this queue, delayed. */
    sendsTo: ["jobs", "imports"],
  },
  /** Nightly per-tenant sweeps: one tick starts each tenant's job of the day (classification refresh, dormancy). */
  nightly: {
    worker: "functions/workers/nightly-worker.ts",
    table: "readwrite",
    timeoutSeconds: 120,
    batchSize: 1,
    maxReceiveCount: 3,
    sendsTo: ["jobs"],
  },
  /** Reminder ticks: a schedule tick fans out one message per tenant; a tenant's run continues itself when long. */
  reminders: {
    worker: "functions/workers/reminders-worker.ts",
    table: "readwrite",
    timeoutSeconds: 120,
    batchSize: 1,
    maxReceiveCount: 5,
    sendsTo: ["reminders"],
  },
  /** The nightly backup tick: finds the tenants and starts one backup job each (the jobs worker runs them). */
  backups: {
    worker: "functions/workers/backups-worker.ts",
    table: "readwrite",
    timeoutSeconds: 300,
    batchSize: 1,
    maxReceiveCount: 3,
    sendsTo: ["jobs"],
  },
} as const satisfies Record<string, QueueDef>;

export const schedules = {
  heartbeat: { expression: "rate(5 minutes)", queue: "health", message: { kind: "heartbeat" } },
  /** 19:00 UTC = 03:00 in China: every tenant's backup, then its restore drill. */
  backup: { expression: "cron(0 19 * * ? *)", queue: "backups", message: { kind: "nightly" } },
  /** 02:30 in Asia/Shanghai (18:30 UTC): each tenant's classification refresh and dormancy check. */
  classification: { expression: "cron(30 18 * * ? *)", queue: "nightly", message: { kind: "classification" } },
  reminders: { expression: "rate(3 minutes)", queue: "reminders", message: { kind: "tick" } },
} as const satisfies Record<string, ScheduleDef>;

export const s3Notifications: readonly S3NotificationDef[] = [
  { bucket: "uploads", prefix: "imports/", queue: "imports" },
];

export type HttpFunctionName = keyof typeof httpFunctions;
export type QueueName = keyof typeof queues;

/**
 * Throttling, read by CDK (stage route settings, the functions' TENANT_* env) and by the local runtime (the same
 * per-route token buckets in front of the handlers, the same env for them). Route limits are API Gateway's: each route
 * has its own bucket shared by all callers. The tenant limit is enforced by the functions (shared/http/throttle.ts),
 * one DynamoDB counter per tenant and window, because an HTTP API cannot throttle by a JWT claim.
 */
export const throttling = {
  default: { rateLimit: 100, burstLimit: 200 },
  /** Health, OpenAPI document and docs: anyone can call them, nothing there needs volume. */
  publicRoutes: { rateLimit: 10, burstLimit: 20 },
  routes: {
    /** A create is a transaction of ~3 requests and ~14 WCU (bench/results). */
    "POST /v1/customers": { rateLimit: 20, burstLimit: 40 },
    /** A list page queries every shard: ~8 requests and ~23 RCU. */
    "GET /v1/customers": { rateLimit: 50, burstLimit: 100 },
    "PUT /v1/settings": { rateLimit: 5, burstLimit: 10 },
  },
  /** Per tenant over all its authenticated requests: windows of burst / rate = 2 s allowing 100 requests each. */
  tenant: { ratePerSecond: 50, burst: 100 },
} as const satisfies ThrottlingDef;
