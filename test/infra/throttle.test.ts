// Throttling in the stack comes from functions/manifest.ts's `throttling`: the stage's default and per-route settings,
// the tenant limit passed to the functions that serve authenticated routes, and the limiter's one narrow write grant.
import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { throttling } from "../../functions/manifest.ts";
import { ApiStack, MANIFEST } from "../../infra/stacks/api-stack.ts";
import { DataStack } from "../../infra/stacks/data-stack.ts";
import { routeLimitsOf } from "../../shared/config/throttle.ts";
import { functionsOf, policyStatementsOf } from "./inspect.ts";
import { asArray, onlyResource, resourcesOf, synthApp } from "./support.ts";

const { api } = synthApp();
const fns = functionsOf(api);
const manifestRoutes = Object.values(MANIFEST.httpFunctions).flatMap((def) => def.routes);

describe("stage throttling", () => {
  const [, stage] = onlyResource(api, "AWS::ApiGatewayV2::Stage");

  it("uses the config's default for every route", () => {
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: throttling.default.rateLimit,
      ThrottlingBurstLimit: throttling.default.burstLimit,
    });
  });

  it("has route settings exactly for the routes the config gives their own limits", () => {
    const expected: Record<string, unknown> = {};
    for (const r of manifestRoutes) {
      const limits = routeLimitsOf(throttling, r);
      if (limits) {
        expected[`${r.method} ${r.path}`] = {
          ThrottlingRateLimit: limits.rateLimit,
          ThrottlingBurstLimit: limits.burstLimit,
        };
      }
    }
    expect(stage.Properties.RouteSettings).toEqual(expected);
    // Spot checks against the config as written.
    expect(stage.Properties.RouteSettings["POST /v1/customers"]).toEqual({
      ThrottlingRateLimit: throttling.routes["POST /v1/customers"].rateLimit,
      ThrottlingBurstLimit: throttling.routes["POST /v1/customers"].burstLimit,
    });
    expect(stage.Properties.RouteSettings["GET /v1/health"]).toEqual({
      ThrottlingRateLimit: throttling.publicRoutes.rateLimit,
      ThrottlingBurstLimit: throttling.publicRoutes.burstLimit,
    });
  });

  it("is created after the routes its settings name", () => {
    const [stageId] = onlyResource(api, "AWS::ApiGatewayV2::Stage");
    const deps = asArray(api.toJSON().Resources[stageId].DependsOn) as string[];
    const routeIds = resourcesOf(api, "AWS::ApiGatewayV2::Route")
      .filter(([, r]) => r.Properties.RouteKey in stage.Properties.RouteSettings)
      .map(([id]) => id);
    expect(deps).toEqual(expect.arrayContaining(routeIds));
  });
});

describe("tenant limit", () => {
  const withAuthRoutes = Object.values(MANIFEST.httpFunctions).filter((d) => d.routes.some((r) => r.auth));
  const publicOnly = Object.values(MANIFEST.httpFunctions).filter((d) => !d.routes.some((r) => r.auth));
  const envOf = (entry: string) => fns.find((f) => f.entry === entry)!.resource.Properties.Environment.Variables;

  it("is passed to every function serving authenticated routes", () => {
    expect(withAuthRoutes.length).toBeGreaterThan(0);
    for (const def of withAuthRoutes) {
      expect(envOf(def.entry), def.entry).toMatchObject({
        TENANT_RATE_PER_SECOND: String(throttling.tenant.ratePerSecond),
        TENANT_BURST: String(throttling.tenant.burst),
      });
    }
  });

  it("is not passed to public-only functions nor to queue workers (no tenant there)", () => {
    const entries = [...publicOnly.map((d) => d.entry), ...Object.values(MANIFEST.queues).map((q) => q.worker)];
    for (const entry of entries) {
      expect(envOf(entry).TENANT_RATE_PER_SECOND, entry).toBeUndefined();
      expect(envOf(entry).TENANT_BURST, entry).toBeUndefined();
    }
  });

  it("lets functions that do not write the table update the rate counters only", () => {
    const statements = policyStatementsOf(api);
    const policies = resourcesOf(api, "AWS::IAM::Policy");
    for (const def of withAuthRoutes.filter((d) => d.table !== "readwrite")) {
      const f = fns.find((x) => x.entry === def.entry)!;
      const writes = statements.filter(
        (s) =>
          s.roleIds.includes(f.roleId) && s.actions.some((a) => /PutItem|UpdateItem|DeleteItem|BatchWrite/.test(a)),
      );
      expect(writes, def.entry).toHaveLength(1);
      expect(writes[0]!.actions).toEqual(["dynamodb:UpdateItem"]);
      const [, policy] = policies.find(([id]) => id === writes[0]!.policyId)!;
      const raw = (policy.Properties.PolicyDocument.Statement as { Action: unknown; Condition?: unknown }[]).find(
        (s) => s.Action === "dynamodb:UpdateItem",
      );
      expect(raw?.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["T#*#RATE#*"] } });
    }
  });
});

describe("a config naming a route the manifest does not have", () => {
  it("fails the synthesis instead of silently keeping the default", () => {
    const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
      context: Record<string, unknown>;
    };
    const app = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
    const data = new DataStack(app, "data", { stage: "t1", corsOrigins: ["*"] });
    expect(
      () =>
        new ApiStack(app, "api", {
          stage: "t1",
          data,
          throttling: { ...throttling, routes: { "POST /v1/customer": { rateLimit: 1, burstLimit: 1 } } },
        }),
    ).toThrow(/throttling names routes the manifest does not have: POST \/v1\/customer/);
  });
});
