// Throttling through the local runtime, as the cloud does it: a tenant over its rate gets 429 problem+json with
// Retry-After from the function's limiter while another tenant is still served, and an empty route bucket gets API
// Gateway's 429. A runtime of its own (tiny limits through startLocal's `throttling` option), so that draining buckets
// here never throttles the other test files, which share the run's runtime. Traffic goes to 127.0.0.1 only.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { throttling } from "../../functions/manifest.ts";
import { type LocalRuntime, startLocal } from "../../local/runtime.ts";

/** Windows of burst / rate = 500 s: a test never sees one end, so counts are exact. */
const TENANT = { ratePerSecond: 0.01, burst: 5 };
const HEALTH = { rateLimit: 0.01, burstLimit: 3 };

let runtime: LocalRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "customer-master-throttle-"));
  runtime = await startLocal({
    port: 0,
    dataDir,
    schedulerEnabled: false,
    logLevel: "error",
    accessLog: false,
    handlerLogLevel: "ERROR",
    throttling: { ...throttling, routes: { "GET /v1/health": HEALTH }, tenant: TENANT },
  });
});

afterAll(async () => {
  await runtime?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, token?: string) {
  const res = await fetch(`${runtime.baseUrl}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function tokenFor(tenant: string): Promise<string> {
  const res = await fetch(`${runtime.baseUrl}/_local/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ tenant, sub: `u-${tenant}`, roles: ["admin"] }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** Sends `send` until it answers 429, at most `max` times; returns the statuses seen. */
async function untilThrottled(send: () => Promise<{ status: number }>, max: number) {
  const statuses: number[] = [];
  for (let i = 0; i < max && statuses.at(-1) !== 429; i++) statuses.push((await send()).status);
  return statuses;
}

describe("per-tenant throttling (the functions' limiter, as deployed)", () => {
  it("gives a tenant over its rate 429 problem+json with Retry-After while another tenant is served", async () => {
    const [busy, quiet] = [`busy-${Date.now().toString(36)}`, `quiet-${Date.now().toString(36)}`];
    const [busyToken, quietToken] = await Promise.all([tokenFor(busy), tokenFor(quiet)]);

    const statuses = await untilThrottled(() => call("GET", "/v1/customers", busyToken), 3 * TENANT.burst);
    expect(statuses.at(-1), "no 429: is tenantRateLimit() in httpApi's middy stack (shared/http/api.ts)?").toBe(429);
    // Exactly `burst` served, unless a window boundary fell inside the loop (then at most twice that).
    const served = statuses.slice(0, -1);
    expect(served.every((s) => s === 200)).toBe(true);
    expect(served.length).toBeGreaterThanOrEqual(TENANT.burst);
    expect(served.length).toBeLessThanOrEqual(2 * TENANT.burst);

    const refused = await call("GET", "/v1/customers", busyToken);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(refused.body).toMatchObject({ status: 429, title: "Too many requests" });
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 500).toBe(true);

    // The limit is the tenant's over all routes and functions...
    expect((await call("GET", "/v1/settings", busyToken)).status).toBe(429);
    // ...and nobody else's.
    const other = await call("GET", "/v1/customers", quietToken);
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ items: [] });
  });
});

describe("per-route throttling (the API Gateway stand-in)", () => {
  it("answers API Gateway's 429 once a route's bucket is empty, before the function runs", async () => {
    const statuses = await untilThrottled(() => call("GET", "/v1/health"), 3 * HEALTH.burstLimit);
    expect(statuses).toEqual([...Array<number>(HEALTH.burstLimit).fill(200), 429]);
    const refused = await call("GET", "/v1/health");
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ message: "Too Many Requests" });
    // Other routes keep their own buckets.
    expect((await call("GET", "/openapi.json")).status).toBe(200);
  });
});
