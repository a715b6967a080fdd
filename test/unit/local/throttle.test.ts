// Throttling logic with an injected clock: API Gateway's per-route token bucket (local stand-in), the tenant limiter's
// fixed windows, how a route's limits are found in the config, and the stand-in answering 429 before the function.
import { afterEach, describe, expect, it } from "vitest";
import { httpFunctions, throttling } from "../../../functions/manifest.ts";
import { createIssuer } from "../../../local/auth/issuer.ts";
import { compileRoutes } from "../../../local/http/routes.ts";
import { type RunningHttpServer, startHttpServer } from "../../../local/http/server.ts";
import { RouteThrottle, TokenBucket } from "../../../local/http/throttle.ts";
import { HandlerCache } from "../../../local/lambda/modules.ts";
import {
  type ThrottlingDef,
  routeLimitsOf,
  tenantLimitEnv,
  tenantLimitsFromEnv,
  unknownRouteKeys,
  windowAt,
} from "../../../shared/config/throttle.ts";
import { memoryLog, tempDir } from "./helpers.ts";

/** A clock that only moves when told to. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** How many of `n` takes succeed right now. */
const takes = (bucket: { take(): boolean }, n: number) =>
  Array.from({ length: n }, () => bucket.take()).filter(Boolean);

describe("TokenBucket (API Gateway's route throttling)", () => {
  it("starts full: allows burstLimit requests at once, then refuses", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 5 }, clock.now);
    expect(takes(bucket, 5)).toHaveLength(5);
    expect(bucket.take()).toBe(false);
  });

  it("refills at rateLimit per second, continuously", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 5 }, clock.now);
    takes(bucket, 5);
    clock.advance(99);
    expect(bucket.take()).toBe(false); // 0.99 tokens
    clock.advance(1);
    expect(bucket.take()).toBe(true); // 1 token after 100 ms
    expect(bucket.take()).toBe(false);
    clock.advance(250);
    expect(takes(bucket, 5)).toHaveLength(2); // 2.5 tokens
  });

  it("never holds more than burstLimit, however long it was idle", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 100, burstLimit: 3 }, clock.now);
    clock.advance(3_600_000);
    expect(bucket.available()).toBe(3);
    expect(takes(bucket, 10)).toHaveLength(3);
  });

  it("does not mint tokens when the clock steps back", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 1, burstLimit: 1 }, clock.now);
    bucket.take();
    clock.advance(-5_000);
    expect(bucket.take()).toBe(false);
    clock.advance(5_000);
    expect(bucket.take()).toBe(false);
    clock.advance(1_000);
    expect(bucket.take()).toBe(true);
  });

  it("with a zero rate allows the burst once and then nothing", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 0, burstLimit: 2 }, clock.now);
    expect(takes(bucket, 3)).toHaveLength(2);
    clock.advance(60_000);
    expect(bucket.take()).toBe(false);
  });

  it("refuses negative limits", () => {
    expect(() => new TokenBucket({ rateLimit: -1, burstLimit: 1 })).toThrow(/must not be negative/);
  });
});

describe("RouteThrottle", () => {
  it("keeps one bucket per route with that route's limits", () => {
    const clock = manualClock();
    const limits: Record<string, { rateLimit: number; burstLimit: number }> = {
      "GET /a": { rateLimit: 1, burstLimit: 1 },
      "GET /b": { rateLimit: 1, burstLimit: 3 },
    };
    const throttle = new RouteThrottle((key) => limits[key]!, clock.now);
    expect(throttle.allow("GET /a")).toBe(true);
    expect(throttle.allow("GET /a")).toBe(false);
    expect([1, 2, 3, 4].map(() => throttle.allow("GET /b"))).toEqual([true, true, true, false]);
    clock.advance(1_000);
    expect(throttle.allow("GET /a")).toBe(true);
  });
});

describe("windowAt (the tenant limiter's fixed windows)", () => {
  const limits = { ratePerSecond: 25, burst: 50 };

  it("windows last burst / rate and allow burst requests each", () => {
    const w = windowAt(limits, 10_000);
    expect(w).toEqual({ index: 5, limit: 50, endMs: 12_000, retryAfterSeconds: 2 });
    expect(windowAt(limits, 11_999).index).toBe(5);
    expect(windowAt(limits, 12_000).index).toBe(6);
  });

  it("gives every instance the same window for the same moment (aligned to the epoch)", () => {
    expect(windowAt(limits, 1_767_225_600_123)).toEqual(windowAt(limits, 1_767_225_600_123));
    expect(windowAt(limits, 1_767_225_600_123).endMs % 2_000).toBe(0);
  });

  it("retry-after is the whole seconds left in the window, at least 1", () => {
    expect(windowAt(limits, 10_001).retryAfterSeconds).toBe(2);
    expect(windowAt(limits, 11_000).retryAfterSeconds).toBe(1);
    expect(windowAt(limits, 11_999).retryAfterSeconds).toBe(1);
    expect(windowAt({ ratePerSecond: 0.1, burst: 5 }, 0).retryAfterSeconds).toBe(50);
  });

  it("handles rates above the burst with sub-second windows", () => {
    const w = windowAt({ ratePerSecond: 100, burst: 10 }, 1_050);
    expect(w).toMatchObject({ index: 10, limit: 10, endMs: 1_100, retryAfterSeconds: 1 });
  });
});

describe("the throttling config", () => {
  const config: ThrottlingDef = {
    default: { rateLimit: 100, burstLimit: 200 },
    publicRoutes: { rateLimit: 10, burstLimit: 20 },
    routes: { "POST /v1/things": { rateLimit: 5, burstLimit: 10 }, "GET /v1/health": { rateLimit: 1, burstLimit: 2 } },
  };

  it("a listed route gets its own limits, a public route the public ones, any other the default (undefined)", () => {
    expect(routeLimitsOf(config, { method: "POST", path: "/v1/things", auth: true })).toEqual({
      rateLimit: 5,
      burstLimit: 10,
    });
    expect(routeLimitsOf(config, { method: "GET", path: "/v1/health", auth: false })).toEqual({
      rateLimit: 1,
      burstLimit: 2,
    });
    expect(routeLimitsOf(config, { method: "GET", path: "/docs", auth: false })).toEqual(config.publicRoutes);
    expect(routeLimitsOf(config, { method: "GET", path: "/v1/things", auth: true })).toBeUndefined();
  });

  it("names route keys that no route has", () => {
    expect(unknownRouteKeys(config, ["POST /v1/things", "GET /v1/health"])).toEqual([]);
    expect(unknownRouteKeys(config, ["GET /v1/health"])).toEqual(["POST /v1/things"]);
  });

  it("the manifest's config names only routes the manifest has", () => {
    const keys = compileRoutes(httpFunctions).map((r) => r.routeKey);
    expect(unknownRouteKeys(throttling, keys)).toEqual([]);
  });
});

describe("tenant limit environment", () => {
  it("is off without TENANT_RATE_PER_SECOND", () => {
    expect(tenantLimitsFromEnv({})).toBeUndefined();
    expect(tenantLimitsFromEnv({ TENANT_RATE_PER_SECOND: "", TENANT_BURST: "" })).toBeUndefined();
  });

  it("round-trips what CDK and the local runtime set", () => {
    const env = tenantLimitEnv({ ratePerSecond: 2.5, burst: 7 });
    expect(env).toEqual({ TENANT_RATE_PER_SECOND: "2.5", TENANT_BURST: "7" });
    expect(tenantLimitsFromEnv(env)).toEqual({ ratePerSecond: 2.5, burst: 7 });
    expect(tenantLimitEnv(undefined)).toEqual({});
  });

  it("defaults the burst to one second's worth", () => {
    expect(tenantLimitsFromEnv({ TENANT_RATE_PER_SECOND: "12.5" })).toEqual({ ratePerSecond: 12.5, burst: 13 });
    expect(tenantLimitsFromEnv({ TENANT_RATE_PER_SECOND: "0.2" })).toEqual({ ratePerSecond: 0.2, burst: 1 });
  });

  it("refuses invalid values (the cold start stops, as for any bad env)", () => {
    for (const env of [
      { TENANT_RATE_PER_SECOND: "fast" },
      { TENANT_RATE_PER_SECOND: "0" },
      { TENANT_RATE_PER_SECOND: "5", TENANT_BURST: "2.5" },
      { TENANT_RATE_PER_SECOND: "5", TENANT_BURST: "-1" },
    ]) {
      expect(() => tenantLimitsFromEnv(env), JSON.stringify(env)).toThrow(/invalid environment: TENANT_/);
    }
  });
});

describe("the local API Gateway with route throttling", () => {
  let server: RunningHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("answers 429 {message} when a route's bucket is empty, before the authorizer and the function", async () => {
    const clock = manualClock();
    const calls: string[] = [];
    const routes = compileRoutes({
      fake: {
        entry: "fake/ok.ts",
        table: "none",
        routes: [
          { method: "GET", path: "/v1/slow", auth: false },
          { method: "GET", path: "/v1/other", auth: false },
          { method: "GET", path: "/v1/private", auth: true },
        ],
      },
    });
    const limits: Record<string, { rateLimit: number; burstLimit: number }> = {
      "GET /v1/slow": { rateLimit: 1, burstLimit: 2 },
      "GET /v1/other": { rateLimit: 1, burstLimit: 2 },
      "GET /v1/private": { rateLimit: 1, burstLimit: 1 },
    };
    server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes,
      handlers: new HandlerCache(async () => ({
        handler: async (event: { routeKey: string }) => {
          calls.push(event.routeKey);
          return { statusCode: 200, body: "ok" };
        },
      })),
      issuer: createIssuer(await tempDir()),
      info: () => ({}),
      runSchedule: async () => undefined,
      log: memoryLog(),
      throttle: new RouteThrottle((key) => limits[key]!, clock.now),
    });
    const get = async (path: string) => {
      const res = await fetch(`${server!.url}${path}`);
      return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
    };

    expect((await get("/v1/slow")).status).toBe(200);
    expect((await get("/v1/slow")).status).toBe(200);
    const refused = await get("/v1/slow");
    expect(refused).toEqual({ status: 429, type: "application/json", text: '{"message":"Too Many Requests"}' });
    expect(calls).toEqual(["GET /v1/slow", "GET /v1/slow"]);

    // Another route has its own bucket; a route refills over time.
    expect((await get("/v1/other")).status).toBe(200);
    clock.advance(1_000);
    expect((await get("/v1/slow")).status).toBe(200);

    // Throttling comes before the authorizer: an empty bucket answers 429 even without a token.
    expect((await get("/v1/private")).status).toBe(401);
    expect((await get("/v1/private")).status).toBe(429);
  });
});
