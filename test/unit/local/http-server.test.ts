// The local API Gateway over real HTTP: the authorizer's answers, API Gateway's own errors, and what handlers get.
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type TokenIssuer, createIssuer } from "../../../local/auth/issuer.ts";
import { compileRoutes } from "../../../local/http/routes.ts";
import { type RunningHttpServer, startHttpServer } from "../../../local/http/server.ts";
import { HandlerCache, fileImporter } from "../../../local/lambda/modules.ts";
import { REPO_ROOT } from "../../../local/runtime.ts";
import { memoryLog, tempDir } from "./helpers.ts";

type Event = APIGatewayProxyEventV2WithJWTAuthorizer;

const routes = compileRoutes({
  health: {
    entry: "functions/http/health.ts",
    table: "none",
    routes: [{ method: "GET", path: "/v1/health", auth: false }],
  },
  echo: {
    entry: "fake/echo.ts",
    table: "none",
    routes: [
      { method: "GET", path: "/v1/echo/{id}", auth: true },
      { method: "POST", path: "/v1/echo", auth: true },
      { method: "GET", path: "/v1/plain", auth: false },
    ],
  },
  broken: { entry: "fake/broken.ts", table: "none", routes: [{ method: "GET", path: "/v1/broken", auth: false }] },
  missing: { entry: "fake/missing.ts", table: "none", routes: [{ method: "GET", path: "/v1/missing", auth: false }] },
});

let server: RunningHttpServer;
let issuer: TokenIssuer;
let events: Event[];
let log: ReturnType<typeof memoryLog>;
const fired: string[] = [];

beforeEach(async () => {
  events = [];
  log = memoryLog();
  issuer = createIssuer(await tempDir());
  const real = fileImporter(REPO_ROOT);
  const importer = async (entry: string): Promise<Record<string, unknown>> => {
    if (entry === "fake/echo.ts") {
      return {
        handler: async (event: Event) => {
          events.push(event);
          if (event.rawPath === "/v1/plain") return { plain: true };
          return {
            statusCode: 200,
            headers: { "content-type": "application/json", "x-route": event.routeKey },
            cookies: ["s=1; Path=/", "t=2"],
            body: JSON.stringify({ ok: true }),
          };
        },
      };
    }
    if (entry === "fake/broken.ts") return { handler: async () => Promise.reject(new Error("secret detail")) };
    if (entry === "fake/missing.ts") throw new Error("Cannot find module 'fake/missing.ts'");
    return real(entry);
  };
  server = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    routes,
    handlers: new HandlerCache(importer),
    issuer,
    info: () => ({ hello: "info" }),
    runSchedule: async (name) => {
      if (name !== "heartbeat") return undefined;
      fired.push(name);
      return { fired: name, messageId: "m1" };
    },
    log,
  });
});

afterEach(async () => {
  await server.close();
});

const call = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
};
const bearer = async (over: { roles?: string[]; ttlSeconds?: number } = {}) =>
  `Bearer ${(await issuer.mint({ tenant: "t1", sub: "u1", roles: over.roles ?? ["admin", "sales"], dept: "d1", ttlSeconds: over.ttlSeconds })).token}`;

describe("the authorizer", () => {
  it("answers 401 without calling the function when the token is missing, expired or garbled", async () => {
    const expired = await bearer({ ttlSeconds: -5 });
    for (const authorization of [undefined, expired, "Bearer abc.def.ghi", "Basic dTpw"]) {
      const res = await call("/v1/echo/1", { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: "Unauthorized" });
    }
    expect(events).toHaveLength(0);
  });

  it("hands the function the verified claims as API Gateway does: strings, arrays as [a b]", async () => {
    const res = await call("/v1/echo/42?x=1", { headers: { authorization: await bearer() } });
    expect(res.status).toBe(200);
    const claims = events[0]!.requestContext.authorizer.jwt.claims;
    expect(claims).toMatchObject({
      tenant: "t1",
      sub: "u1",
      roles: "[admin sales]",
      dept: "d1",
      iss: "https://local.customer-master/issuer",
      aud: "customer-master",
    });
    expect(typeof claims.exp).toBe("string");
    expect(events[0]).toMatchObject({
      routeKey: "GET /v1/echo/{id}",
      pathParameters: { id: "42" },
      queryStringParameters: { x: "1" },
    });
  });

  it("lets public routes through without a token", async () => {
    const res = await call("/v1/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });
});

describe("API Gateway's answers", () => {
  it("maps a structured result: status, headers and cookies as set-cookie", async () => {
    const res = await call("/v1/echo/1", { headers: { authorization: await bearer() } });
    expect(res.headers.get("x-route")).toBe("GET /v1/echo/{id}");
    expect(res.headers.getSetCookie()).toEqual(["s=1; Path=/", "t=2"]);
    expect(res.headers.get("apigw-requestid")).toBe(events[0]!.requestContext.requestId);
  });

  it("turns a plain object into a 200 JSON response", async () => {
    const res = await call("/v1/plain");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual({ plain: true });
  });

  it("answers 404 for unknown paths and for a known path with another method", async () => {
    for (const [method, path] of [
      ["GET", "/v1/nope"],
      ["DELETE", "/v1/echo/1"],
      ["GET", "/_local/nope"],
    ] as const) {
      const res = await call(path, { method });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ message: "Not Found" });
    }
  });

  it("answers 413 for a body over 10 MB", async () => {
    const res = await call("/v1/echo", {
      method: "POST",
      headers: { authorization: await bearer(), "content-type": "application/json" },
      body: "x".repeat(10 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(events).toHaveLength(0);
  });

  it("answers 500 without detail when the function throws, and logs why", async () => {
    const res = await call("/v1/broken");
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: "Internal Server Error" });
    expect(log.lines.some((l) => l.includes("secret detail"))).toBe(true);
  });

  it("answers 500 for the routes of a module that cannot load, and keeps serving the others", async () => {
    expect((await call("/v1/missing")).status).toBe(500);
    expect(log.lines.some((l) => l.includes("cannot load fake/missing.ts"))).toBe(true);
    expect((await call("/v1/health")).status).toBe(200);
  });

  it("passes a binary body base64-encoded", async () => {
    const bytes = Buffer.from([0, 159, 146, 150]);
    await call("/v1/echo", {
      method: "POST",
      headers: { authorization: await bearer(), "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(events[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString("base64") });
  });
});

describe("local routes", () => {
  it("mints tokens the authorizer accepts, and refuses bad input with 400", async () => {
    const ok = await call("/_local/token", {
      method: "POST",
      body: JSON.stringify({ tenant: "t9", sub: "u9", roles: ["viewer"] }),
    });
    expect(ok.status).toBe(200);
    await expect(issuer.verify(ok.body.token)).resolves.toMatchObject({ tenant: "t9", sub: "u9", roles: ["viewer"] });

    for (const body of [
      "{",
      JSON.stringify({ sub: "u" }),
      JSON.stringify({ tenant: "t", sub: "u", roles: "admin" }),
      JSON.stringify({ tenant: 1, sub: "u" }),
    ]) {
      const bad = await call("/_local/token", { method: "POST", body });
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toEqual(expect.any(String));
    }
  });

  it("fires a known schedule and answers 404 for an unknown one", async () => {
    expect(await call("/_local/schedules/heartbeat/run", { method: "POST" })).toMatchObject({
      status: 200,
      body: { fired: "heartbeat", messageId: "m1" },
    });
    expect((await call("/_local/schedules/nope/run", { method: "POST" })).status).toBe(404);
  });

  it("serves info and the public keys", async () => {
    expect((await call("/_local/info")).body).toEqual({ hello: "info" });
    const jwks = await call("/_local/jwks.json");
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0].d).toBeUndefined();
  });
});
