// The per-tenant limiter (shared/http/throttle.ts) in a middy handler against a mocked DynamoDB that evaluates its
// condition: over the limit is 429 problem+json with Retry-After, tenants are independent, windows reset the count.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { HttpEvent } from "../../../shared/http/api.ts";
import { json, type HttpResult } from "../../../shared/http/response.ts";
import { type TenantLimits, rateKeys } from "../../../shared/config/throttle.ts";
import { tenantRateLimit } from "../../../shared/http/throttle.ts";
import { aContext, anEvent, bodyOf, claimsOf } from "../http/support/events.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);

/** Counters as DynamoDB would keep them: ADD :take only while `attribute_not_exists(n) OR n < :limit`. */
let counters: Map<string, number>;
let handlerCalls: number;

beforeEach(() => {
  counters = new Map();
  handlerCalls = 0;
  ddbMock.reset();
  ddbMock.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    const pk = String(input.Key?.PK);
    const n = counters.get(pk);
    const limit = Number(input.ExpressionAttributeValues?.[":limit"]);
    if (n !== undefined && !(n < limit)) {
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    }
    counters.set(pk, (n ?? 0) + Number(input.ExpressionAttributeValues?.[":take"]));
    return {};
  });
});

function clockAt(ms: number) {
  let t = ms;
  return { now: () => t, set: (v: number) => void (t = v) };
}

/** A handler behind the limiter, as httpApi's middy stack runs it. */
function limitedHandler(limits: TenantLimits | null, now: () => number) {
  return middy<HttpEvent, HttpResult, Error, Context>()
    .use(tenantRateLimit({ limits, tableName: "t", now }))
    .handler(async () => {
      handlerCalls++;
      return json(200, { ok: true });
    });
}

const call = (h: ReturnType<typeof limitedHandler>, tenant: string | null, requestId = "req-1") =>
  h(
    anEvent({ routeKey: "GET /v1/customers", claims: tenant === null ? null : claimsOf(tenant), requestId }),
    aContext(),
  );

const LIMITS = { ratePerSecond: 1, burst: 3 }; // windows of 3 s, 3 requests each

describe("tenantRateLimit", () => {
  it("serves up to the limit, then answers 429 problem+json with Retry-After without calling the handler", async () => {
    const clock = clockAt(3_000_500); // 0.5 s into a 3 s window
    const h = limitedHandler(LIMITS, clock.now);
    for (let i = 0; i < 3; i++) expect((await call(h, "acme")).statusCode).toBe(200);

    const res = await call(h, "acme", "req-429");

    expect(res.statusCode).toBe(429);
    expect(res.headers?.["content-type"]).toBe("application/problem+json; charset=utf-8");
    expect(res.headers?.["retry-after"]).toBe("3"); // 2.5 s left, rounded up
    expect(bodyOf(res)).toMatchObject({
      type: "https://customer-master.dev/problems/too-many-requests",
      title: "Too many requests",
      status: 429,
      instance: "req-429",
    });
    expect(handlerCalls).toBe(3);
  });

  it("keeps tenants independent", async () => {
    const clock = clockAt(3_000_000);
    const h = limitedHandler(LIMITS, clock.now);
    for (let i = 0; i < 4; i++) await call(h, "acme");
    expect((await call(h, "acme")).statusCode).toBe(429);

    for (let i = 0; i < 3; i++) expect((await call(h, "globex")).statusCode).toBe(200);
    expect((await call(h, "globex")).statusCode).toBe(429);
  });

  it("starts counting afresh in the next window", async () => {
    const clock = clockAt(3_000_000);
    const h = limitedHandler(LIMITS, clock.now);
    for (let i = 0; i < 3; i++) await call(h, "acme");
    clock.set(3_002_999);
    expect((await call(h, "acme")).statusCode).toBe(429);
    expect((await call(h, "acme")).headers?.["retry-after"]).toBe("1");
    clock.set(3_003_000);
    expect((await call(h, "acme")).statusCode).toBe(200);
  });

  it("takes requests in blocks of a twentieth of the limit: far fewer UpdateItems, and never more than the limit", async () => {
    const limits = { ratePerSecond: 50, burst: 100 }; // windows of 2 s, 100 requests each, blocks of 5
    const clock = clockAt(4_000_000);
    const a = limitedHandler(limits, clock.now);
    const b = limitedHandler(limits, clock.now); // another Lambda instance, same counter
    const served = { a: 0, b: 0 };
    for (let i = 0; i < 70; i++) {
      if ((await call(a, "acme")).statusCode === 200) served.a++;
      if ((await call(b, "acme")).statusCode === 200) served.b++;
    }
    expect(served.a + served.b).toBe(100);
    expect(counters.get(rateKeys.pk("acme", 2_000))).toBe(100);
    // Blocks of 5 while a whole block was left (20 in all), a last refused try each; refusals then cost nothing.
    expect(ddbMock.commandCalls(UpdateCommand).length).toBeLessThanOrEqual(24);
    expect((await call(a, "acme")).statusCode).toBe(429);
    expect(handlerCalls).toBe(100);
  });

  it("writes a conditional UpdateItem on T#<tenant>#RATE#<window>, expiring after the window", async () => {
    const h = limitedHandler(LIMITS, clockAt(3_000_500).now);
    await call(h, "acme");

    const calls = ddbMock.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      TableName: "t",
      Key: { PK: rateKeys.pk("acme", 1_000), SK: "RATE" },
      UpdateExpression: "ADD #n :take SET #exp = :exp",
      ConditionExpression: "attribute_not_exists(#n) OR #n < :limit",
      ExpressionAttributeNames: { "#n": "n", "#exp": "expiresAt" },
      ExpressionAttributeValues: { ":take": 1, ":limit": 3, ":exp": 3_003 + 60 },
    });
    expect(rateKeys.pk("acme", 1_000)).toBe("T#acme#RATE#1000");
  });

  it("leaves requests without a tenant (public routes) to the handler, without a DynamoDB call", async () => {
    const h = limitedHandler({ ratePerSecond: 1, burst: 1 }, clockAt(0).now);
    for (let i = 0; i < 3; i++) expect((await call(h, null)).statusCode).toBe(200);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("lets the request through when DynamoDB fails otherwise (the limiter must not take the API down)", async () => {
    ddbMock.on(UpdateCommand).rejects(Object.assign(new Error("throughput exceeded"), { name: "ThrottlingException" }));
    const h = limitedHandler(LIMITS, clockAt(0).now);
    expect((await call(h, "acme")).statusCode).toBe(200);
    expect(handlerCalls).toBe(1);
  });

  it("is a no-op when no limit is configured (limits null, or no TENANT_RATE_PER_SECOND in the env)", async () => {
    expect(process.env.TENANT_RATE_PER_SECOND).toBeUndefined();
    for (const h of [
      limitedHandler(null, clockAt(0).now),
      middy<HttpEvent, HttpResult, Error, Context>()
        .use(tenantRateLimit())
        .handler(async () => json(200, {})),
    ]) {
      for (let i = 0; i < 5; i++) expect((await call(h, "acme")).statusCode).toBe(200);
    }
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
