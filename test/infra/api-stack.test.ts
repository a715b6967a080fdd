// Stateless stack against functions/manifest.ts: every function, route, queue, schedule and notification it lists,
// with the construct defaults and least-privilege IAM.
import { describe, expect, it } from "vitest";
import { MANIFEST } from "../../infra/stacks/api-stack.ts";
import { statefulNames } from "../../infra/stacks/data-stack.ts";
import { VISIBILITY_TIMEOUT_FACTOR } from "../../infra/constructs/queue-worker.ts";
import { functionsOf, policyStatementsOf, queueParts } from "./inspect.ts";
import { asArray, onlyResource, refId, resourcesOf, synthApp } from "./support.ts";

const { api, stage } = synthApp();
const names = statefulNames(stage);
const fns = functionsOf(api);

describe("functions", () => {
  it("one per manifest HTTP entry and one worker per manifest queue, nothing else", () => {
    const expected = [
      ...Object.values(MANIFEST.httpFunctions).map((f) => f.entry),
      ...Object.values(MANIFEST.queues).map((q) => q.worker),
    ].sort();
    expect(fns.map((f) => f.entry).sort()).toEqual(expected);
  });

  it.each(fns.map((f) => [f.entry, f] as const))(
    "%s: nodejs22.x, arm64, 512 MB, tracing, own log group kept a month, standard env",
    (_entry, f) => {
      const p = f.resource.Properties;
      expect(p.Runtime).toBe("nodejs22.x");
      expect(p.Architectures).toEqual(["arm64"]);
      expect(p.MemorySize).toBe(512);
      expect(p.TracingConfig).toEqual({ Mode: "Active" });
      const logGroupId = refId(p.LoggingConfig?.LogGroup);
      expect(logGroupId, "LoggingConfig.LogGroup").toBeDefined();
      expect(api.toJSON().Resources[logGroupId!]).toMatchObject({
        Type: "AWS::Logs::LogGroup",
        Properties: { RetentionInDays: 30 },
      });
      expect(p.Environment.Variables).toMatchObject({
        TABLE_NAME: names.table,
        STAGE: stage,
        LOG_LEVEL: "INFO",
        NODE_OPTIONS: "--enable-source-maps",
        LIST_SHARDS: "8",
      });
    },
  );

  it("HTTP functions time out after 10 s and get the cursor secret; workers use the manifest's timeout", () => {
    for (const def of Object.values(MANIFEST.httpFunctions)) {
      const p = fns.find((f) => f.entry === def.entry)!.resource.Properties;
      expect(p.Timeout).toBe(10);
      expect(p.Environment.Variables.CURSOR_SECRET).toBe(
        `{{resolve:secretsmanager:${names.cursorSecret}:SecretString:::}}`,
      );
    }
    for (const def of Object.values(MANIFEST.queues)) {
      expect(fns.find((f) => f.entry === def.worker)!.resource.Properties.Timeout).toBe(def.timeoutSeconds);
    }
  });
});

describe("HTTP API", () => {
  const routes = resourcesOf(api, "AWS::ApiGatewayV2::Route");
  const integrations = resourcesOf(api, "AWS::ApiGatewayV2::Integration");
  const [authorizerId, authorizer] = onlyResource(api, "AWS::ApiGatewayV2::Authorizer");
  const manifestRoutes = Object.values(MANIFEST.httpFunctions).flatMap((def) =>
    def.routes.map((r) => ({ ...r, entry: def.entry, key: `${r.method} ${r.path}` })),
  );

  it("has exactly the manifest's routes", () => {
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(manifestRoutes.map((r) => r.key).sort());
  });

  it.each(manifestRoutes.map((r) => [r.key, r] as const))("%s: authorizer and target as in the manifest", (_k, r) => {
    const [, route] = routes.find(([, x]) => x.Properties.RouteKey === r.key)!;
    if (r.auth) {
      expect(route.Properties.AuthorizationType).toBe("JWT");
      expect(refId(route.Properties.AuthorizerId)).toBe(authorizerId);
    } else {
      expect(route.Properties.AuthorizationType).toBe("NONE");
      expect(route.Properties.AuthorizerId).toBeUndefined();
    }
    // Target is "integrations/<id>"; the integration invokes the function of the manifest entry.
    const integrationId = refId(route.Properties.Target["Fn::Join"][1][1]);
    const [, integration] = integrations.find(([id]) => id === integrationId)!;
    const fnId = refId(integration.Properties.IntegrationUri);
    expect(fns.find((f) => f.id === fnId)?.entry).toBe(r.entry);
  });

  it("authorizes with the Cognito pool's issuer and the app client as audience", () => {
    expect(authorizer.Properties.AuthorizerType).toBe("JWT");
    const issuer = JSON.stringify(authorizer.Properties.JwtConfiguration.Issuer);
    expect(issuer).toContain("https://cognito-idp.");
    expect(issuer).toContain(".amazonaws.com/");
    expect(authorizer.Properties.JwtConfiguration.Audience).toHaveLength(1);
    expect(authorizer.Properties.IdentitySource).toEqual(["$request.header.Authorization"]);
  });

  it("has a $default stage with access logs, default throttling and per-route limits on public routes", () => {
    const [, s] = onlyResource(api, "AWS::ApiGatewayV2::Stage");
    expect(s.Properties.StageName).toBe("$default");
    expect(s.Properties.AutoDeploy).toBe(true);
    expect(refId(s.Properties.AccessLogSettings.DestinationArn)).toBeDefined();
    expect(JSON.parse(s.Properties.AccessLogSettings.Format)).toMatchObject({ requestId: "$context.requestId" });
    expect(s.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    const publicKeys = manifestRoutes.filter((r) => !r.auth).map((r) => r.key);
    expect(Object.keys(s.Properties.RouteSettings)).toEqual(expect.arrayContaining(publicKeys));
  });

  it("exports URL, pool, client, table and bucket names", () => {
    const outputs = Object.keys(api.toJSON().Outputs ?? {});
    for (const o of ["ApiUrl", "UserPoolId", "UserPoolClientId", "TableName", "UploadsBucketName", "BackupsBucketName"])
      expect(outputs).toContain(o);
  });
});

describe("queues", () => {
  it.each(Object.entries(MANIFEST.queues))("%s: DLQ, visibility, encryption, TLS, mapping, alarm", (name, def) => {
    const worker = fns.find((f) => f.entry === def.worker)!;
    const q = queueParts(api, worker.id);
    expect(q.queue.Properties.RedrivePolicy.maxReceiveCount).toBe(def.maxReceiveCount);
    expect(refId(q.queue.Properties.RedrivePolicy.deadLetterTargetArn)).toBe(q.dlqId);
    expect(q.queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * def.timeoutSeconds);
    expect(q.dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const id of [q.queueId, q.dlqId]) {
      expect(api.toJSON().Resources[id].Properties.SqsManagedSseEnabled, `${name} ${id} SSE`).toBe(true);
      const policy = resourcesOf(api, "AWS::SQS::QueuePolicy").find(([, p]) =>
        asArray(p.Properties.Queues).some((x) => refId(x) === id),
      );
      expect(policy?.[1].Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      );
    }
    expect(q.mapping.Properties.BatchSize).toBe(def.batchSize);
    expect(q.mapping.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
    const alarm = resourcesOf(api, "AWS::CloudWatch::Alarm").find(([, a]) =>
      a.Properties.Dimensions?.some((d: { Value: unknown }) => refId(d.Value) === q.dlqId),
    );
    expect(alarm?.[1].Properties).toMatchObject({
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("every event source mapping reports batch item failures", () => {
    const mappings = resourcesOf(api, "AWS::Lambda::EventSourceMapping");
    expect(mappings).toHaveLength(Object.keys(MANIFEST.queues).length);
    for (const [, m] of mappings) expect(m.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
  });
});

describe("schedules and notifications", () => {
  const queueIdOf = (queue: string) => {
    const def = MANIFEST.queues[queue]!;
    return queueParts(api, fns.find((f) => f.entry === def.worker)!.id).queueId;
  };

  it.each(Object.entries(MANIFEST.schedules))("schedule %s sends its message and tick time to its queue", (_n, def) => {
    const rules = resourcesOf(api, "AWS::Events::Rule").filter(
      ([, r]) => r.Properties.ScheduleExpression === def.expression,
    );
    expect(rules).toHaveLength(1);
    const [target] = rules[0]![1].Properties.Targets;
    expect(refId(target.Arn)).toBe(queueIdOf(def.queue));
    expect(target.InputTransformer.InputPathsMap).toEqual({ time: "$.time" });
    const template = target.InputTransformer.InputTemplate as string;
    expect(template).toContain('"scheduledAt":<time>');
    for (const [k, v] of Object.entries(def.message)) expect(template).toContain(`"${k}":${JSON.stringify(v)}`);
  });

  it("S3 ObjectCreated notifications go to their queues with the manifest's prefixes", () => {
    const [, custom] = onlyResource(api, "Custom::S3BucketNotifications");
    expect(JSON.stringify(custom.Properties.BucketName)).toContain(`customer-master-${stage}-uploads-`);
    const configs = custom.Properties.NotificationConfiguration.QueueConfigurations as {
      Events: string[];
      Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
      QueueArn: unknown;
    }[];
    expect(configs).toHaveLength(MANIFEST.s3Notifications.length);
    for (const n of MANIFEST.s3Notifications) {
      const c = configs.find((x) => refId(x.QueueArn) === queueIdOf(n.queue));
      expect(c?.Events).toEqual(["s3:ObjectCreated:*"]);
      expect(c?.Filter.Key.FilterRules).toEqual([{ Name: "prefix", Value: n.prefix }]);
    }
  });
});

describe("IAM", () => {
  const statements = policyStatementsOf(api);
  const XRAY = new Set(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);

  it("grants no service-wide wildcard actions", () => {
    for (const s of statements) {
      for (const a of s.actions) expect(a === "*" || a.endsWith(":*"), `${s.policyId}: ${a}`).toBe(false);
    }
  });

  it("uses Resource '*' only for the X-Ray actions, which support nothing narrower", () => {
    const wildcard = statements.filter((x) => x.resources.includes("*"));
    expect(wildcard.length).toBe(fns.length); // one X-Ray statement per traced function
    for (const s of wildcard) {
      expect(
        s.actions.filter((a) => !XRAY.has(a)),
        s.policyId,
      ).toEqual([]);
    }
  });

  it("gives each function the table access of its manifest entry", () => {
    const defs = [
      ...Object.values(MANIFEST.httpFunctions).map((d) => ({ entry: d.entry, table: d.table })),
      ...Object.values(MANIFEST.queues).map((d) => ({ entry: d.worker, table: d.table })),
    ];
    for (const d of defs) {
      const f = fns.find((x) => x.entry === d.entry)!;
      const dynamo = statements.filter((s) => s.roleIds.includes(f.roleId)).flatMap((s) => s.actions);
      const ddb = dynamo.filter((a) => a.startsWith("dynamodb:"));
      const writes = ddb.filter((a) => /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(a));
      if (d.table === "none") expect(ddb, d.entry).toEqual([]);
      if (d.table === "read") {
        expect(ddb, d.entry).toContain("dynamodb:Query");
        // The only write of a read-only function is the tenant rate counter (throttle.test.ts checks its scope).
        expect(
          writes.filter((a) => a !== "dynamodb:UpdateItem"),
          d.entry,
        ).toEqual([]);
      }
      if (d.table === "readwrite") expect(writes.length, d.entry).toBeGreaterThan(0);
    }
  });

  it("lets a function send only to the queues its manifest entry lists in sendsTo", () => {
    const defs = [
      ...Object.values(MANIFEST.httpFunctions).map((d) => ({ entry: d.entry, sendsTo: d.sendsTo ?? [] })),
      ...Object.values(MANIFEST.queues).map((d) => ({ entry: d.worker, sendsTo: d.sendsTo ?? [] })),
    ];
    for (const d of defs) {
      const f = fns.find((x) => x.entry === d.entry)!;
      const targets = statements
        .filter((s) => s.roleIds.includes(f.roleId) && s.actions.includes("sqs:SendMessage"))
        .flatMap((s) => s.resources.map((r) => refId(r)));
      const expected = d.sendsTo.map((q) => {
        const worker = fns.find((x) => x.entry === MANIFEST.queues[q]!.worker)!;
        return queueParts(api, worker.id).queueId;
      });
      expect(targets.sort(), d.entry).toEqual(expected.sort());
      const urls = f.resource.Properties.Environment.Variables.QUEUE_URLS;
      if (d.sendsTo.length === 0) expect(urls, d.entry).toBeUndefined();
    }
  });
});
