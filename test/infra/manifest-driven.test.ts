// The stack follows the manifest: a new route group, queue, schedule, sendsTo and bucket access need no infra change.
import { describe, expect, it } from "vitest";
import { MANIFEST, type Manifest } from "../../infra/stacks/api-stack.ts";
import { functionsOf, policyStatementsOf, queueParts } from "./inspect.ts";
import { refId, resourcesOf, synthApp } from "./support.ts";

const extended = {
  httpFunctions: {
    ...MANIFEST.httpFunctions,
    reports: {
      entry: "functions/http/reports-not-written-yet.ts",
      table: "read",
      sendsTo: ["reports"],
      buckets: { backups: "read" },
      routes: [
        { method: "POST", path: "/v1/reports", auth: true },
        { method: "GET", path: "/v1/reports/{id}", auth: true },
      ],
    },
  },
  queues: {
    ...MANIFEST.queues,
    reports: {
      worker: "functions/workers/reports-worker-not-written-yet.ts",
      table: "readwrite",
      timeoutSeconds: 120,
      batchSize: 5,
      maxReceiveCount: 5,
      sendsTo: ["reports"],
      buckets: { backups: "write" },
    },
  },
  schedules: { ...MANIFEST.schedules, nightly: { expression: "cron(0 18 * * ? *)", queue: "reports", message: {} } },
  s3Notifications: MANIFEST.s3Notifications,
} as Manifest;

const { api } = synthApp({ manifest: extended });
const fns = functionsOf(api);
const statements = policyStatementsOf(api);
const reportsFn = fns.find((f) => f.entry === "functions/http/reports-not-written-yet.ts")!;
const reportsWorker = fns.find((f) => f.entry === "functions/workers/reports-worker-not-written-yet.ts")!;

describe("a manifest with one more route group, queue and schedule", () => {
  it("gets the new routes behind the JWT authorizer", () => {
    const keys = resourcesOf(api, "AWS::ApiGatewayV2::Route")
      .filter(([, r]) => r.Properties.AuthorizationType === "JWT")
      .map(([, r]) => r.Properties.RouteKey);
    expect(keys).toEqual(expect.arrayContaining(["POST /v1/reports", "GET /v1/reports/{id}"]));
  });

  it("gets the new queue with the manifest's DLQ count and 6x visibility", () => {
    const q = queueParts(api, reportsWorker.id);
    expect(q.queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(q.queue.Properties.VisibilityTimeout).toBe(720);
    expect(q.mapping.Properties.BatchSize).toBe(5);
    expect(reportsWorker.resource.Properties.Timeout).toBe(120);
  });

  it("passes QUEUE_URLS and grants sendMessage for sendsTo queues only", () => {
    const { queueId } = queueParts(api, reportsWorker.id);
    for (const f of [reportsFn, reportsWorker]) {
      const urls = f.resource.Properties.Environment.Variables.QUEUE_URLS;
      expect(JSON.stringify(urls)).toContain('{\\"reports\\":\\"');
      expect(JSON.stringify(urls)).toContain(`"Ref":"${queueId}"`);
      const sendTargets = statements
        .filter((s) => s.roleIds.includes(f.roleId) && s.actions.includes("sqs:SendMessage"))
        .flatMap((s) => s.resources.map((r) => refId(r)));
      expect(sendTargets).toEqual([queueId]);
    }
  });

  it("grants declared bucket access on the object level only", () => {
    const s3 = (roleId: string) =>
      statements.filter((s) => s.roleIds.includes(roleId)).flatMap((s) => s.actions.filter((a) => a.startsWith("s3:")));
    expect(s3(reportsFn.roleId).sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
    expect(s3(reportsWorker.roleId).sort()).toEqual(["s3:AbortMultipartUpload", "s3:PutObject"]);
  });

  it("schedules the new rule onto the new queue", () => {
    const { queueId } = queueParts(api, reportsWorker.id);
    const rule = resourcesOf(api, "AWS::Events::Rule").find(
      ([, r]) => r.Properties.ScheduleExpression === "cron(0 18 * * ? *)",
    );
    expect(refId(rule?.[1].Properties.Targets[0].Arn)).toBe(queueId);
  });
});

describe("a manifest naming a queue it does not define", () => {
  it("fails synthesis with a clear message", () => {
    const broken = {
      ...MANIFEST,
      schedules: { typo: { expression: "rate(1 hour)", queue: "no-such-queue", message: {} } },
    } as Manifest;
    expect(() => synthApp({ manifest: broken })).toThrow(/schedule typo refers to queue "no-such-queue"/);
  });
});
