// Route matching and the API Gateway HTTP API (payload 2.0) event the local server builds, and result mapping.
import { describe, expect, it } from "vitest";
import { httpFunctions } from "../../../functions/manifest.ts";
import {
  apiGatewayClaims,
  buildHttpEvent,
  type IncomingRequest,
  mapLambdaResult,
  queryParameters,
} from "../../../local/http/event.ts";
import { compileRoutes, matchRoute } from "../../../local/http/routes.ts";

const routes = compileRoutes({
  items: {
    entry: "functions/http/items.ts",
    table: "none",
    routes: [
      { method: "GET", path: "/v1/items", auth: true },
      { method: "GET", path: "/v1/items/{id}", auth: true },
      { method: "GET", path: "/v1/items/search", auth: true },
      { method: "POST", path: "/v1/items/{id}/{action}", auth: true },
      { method: "GET", path: "/v1/files/{path+}", auth: false },
    ],
  },
});

const req = (over: Partial<IncomingRequest> = {}): IncomingRequest => ({
  method: "GET",
  url: "/v1/items",
  headers: { host: ["127.0.0.1:3000"], "user-agent": ["curl/8"] },
  body: Buffer.alloc(0),
  sourceIp: "127.0.0.1",
  protocol: "HTTP/1.1",
  port: 3000,
  ...over,
});

describe("route matching", () => {
  it("matches method and path template, preferring literal segments over parameters", () => {
    expect(matchRoute(routes, "GET", "/v1/items/search")?.route.routeKey).toBe("GET /v1/items/search");
    expect(matchRoute(routes, "GET", "/v1/items/42")).toMatchObject({
      route: { routeKey: "GET /v1/items/{id}" },
      params: { id: "42" },
    });
    expect(matchRoute(routes, "POST", "/v1/items/42/approve")?.params).toEqual({ id: "42", action: "approve" });
  });

  it("URL-decodes path parameters", () => {
    expect(matchRoute(routes, "GET", "/v1/items/a%20b%2Fc")?.params).toEqual({ id: "a b/c" });
  });

  it("matches greedy {path+} over the rest of the path", () => {
    expect(matchRoute(routes, "GET", "/v1/files/a/b/c.csv")?.params).toEqual({ path: "a/b/c.csv" });
    expect(matchRoute(routes, "GET", "/v1/files/")).toBeUndefined();
  });

  it("finds nothing for another method, extra segments or an empty parameter", () => {
    expect(matchRoute(routes, "DELETE", "/v1/items/42")).toBeUndefined();
    expect(matchRoute(routes, "GET", "/v1/items/42/more")).toBeUndefined();
    expect(matchRoute(routes, "GET", "/v1/items/")).toBeUndefined();
    expect(matchRoute(routes, "GET", "/v1/nothing")).toBeUndefined();
  });

  it("serves every route of the manifest", () => {
    const all = compileRoutes(httpFunctions);
    for (const r of all) {
      const path = r.path.replace(/\{[^}]+\}/g, "x");
      expect(matchRoute(all, r.method, path)?.route.routeKey).toBe(r.routeKey);
    }
  });
});

describe("the API Gateway event", () => {
  it("carries the request as payload format 2.0 does", () => {
    const match = matchRoute(routes, "GET", "/v1/items/a%20b")!;
    const event = buildHttpEvent(
      req({
        url: "/v1/items/a%20b?tag=x&tag=y&q=caf%C3%A9&flag",
        headers: {
          host: ["127.0.0.1:3000"],
          "user-agent": ["curl/8"],
          accept: ["text/plain", "application/json"],
          cookie: ["a=1; b=2"],
        },
      }),
      match,
      {
        claims: { sub: "u1", tenant: "t1", roles: "[admin sales]" },
        requestId: "req-1",
        now: new Date("2024-03-12T19:03:58.123Z"),
      },
    );
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "GET /v1/items/{id}",
      rawPath: "/v1/items/a b",
      rawQueryString: "tag=x&tag=y&q=caf%C3%A9&flag",
      cookies: ["a=1", "b=2"],
      queryStringParameters: { tag: "x,y", q: "café", flag: "" },
      pathParameters: { id: "a b" },
      isBase64Encoded: false,
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        domainName: "127.0.0.1",
        http: {
          method: "GET",
          path: "/v1/items/a b",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "curl/8",
        },
        requestId: "req-1",
        routeKey: "GET /v1/items/{id}",
        stage: "$default",
        time: "12/Mar/2024:19:03:58 +0000",
        timeEpoch: Date.parse("2024-03-12T19:03:58.123Z"),
        authorizer: { jwt: { claims: { sub: "u1", tenant: "t1", roles: "[admin sales]" }, scopes: null } },
      },
    });
    expect(event.headers).toMatchObject({
      accept: "text/plain,application/json",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-port": "3000",
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.body).toBeUndefined();
  });

  it("leaves out the authorizer on public routes and the optional maps when empty", () => {
    const event = buildHttpEvent(req(), matchRoute(routes, "GET", "/v1/items")!);
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.pathParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
  });

  it("passes JSON and text bodies as text, others base64-encoded", () => {
    const match = matchRoute(routes, "POST", "/v1/items/1/go")!;
    const json = buildHttpEvent(
      req({
        method: "POST",
        headers: { "content-type": ["application/json; charset=utf-8"] },
        body: Buffer.from('{"a":"é"}'),
      }),
      match,
    );
    expect(json).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
    const bin = Buffer.from([0, 1, 2, 255]);
    const octet = buildHttpEvent(
      req({ method: "POST", headers: { "content-type": ["application/octet-stream"] }, body: bin }),
      match,
    );
    expect(octet).toMatchObject({ body: bin.toString("base64"), isBase64Encoded: true });
  });

  it("splits query strings with repeated names comma-joined", () => {
    expect(queryParameters("a=1&a=2&b=%2C")).toEqual({ a: "1,2", b: "," });
    expect(queryParameters("")).toBeUndefined();
  });

  it("turns token claims into strings the way the JWT authorizer does", () => {
    expect(
      apiGatewayClaims({
        sub: "u1",
        roles: ["admin", "sales"],
        exp: 1700000000,
        email_verified: true,
        nested: { a: 1 },
        none: null,
      }),
    ).toEqual({
      sub: "u1",
      roles: "[admin sales]",
      exp: "1700000000",
      email_verified: "true",
      nested: '{"a":1}',
    });
  });
});

describe("mapping the function's result", () => {
  it("takes a structured result as is, decoding base64 bodies", () => {
    expect(
      mapLambdaResult({ statusCode: 201, headers: { Location: "/x", "X-N": 3 }, cookies: ["s=1"], body: "{}" }),
    ).toEqual({
      statusCode: 201,
      headers: { location: "/x", "x-n": "3" },
      cookies: ["s=1"],
      body: Buffer.from("{}"),
    });
    expect(
      mapLambdaResult({
        statusCode: 200,
        body: Buffer.from("hi").toString("base64"),
        isBase64Encoded: true,
      }).body.toString(),
    ).toBe("hi");
  });

  it("turns anything without statusCode into a 200 JSON body", () => {
    expect(mapLambdaResult({ ok: true })).toMatchObject({
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: Buffer.from('{"ok":true}'),
    });
    expect(mapLambdaResult("hello").body.toString()).toBe('"hello"');
  });

  it("refuses a malformed structured result", () => {
    expect(() => mapLambdaResult({ statusCode: "abc" })).toThrow();
    expect(() => mapLambdaResult({ statusCode: 200, body: { not: "a string" } })).toThrow();
  });
});
