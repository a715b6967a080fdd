// Unit tests for the httpApi middy stack: routing, body parsing (400/413/415), field errors, problem+json, 5xx hiding.
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { fieldErrors, httpApi, MAX_BODY_BYTES, parse } from "../../../shared/http/api.ts";
import { ValidationError } from "../../../shared/http/errors.ts";
import { json } from "../../../shared/http/response.ts";
import { aContext, anEvent, bodyOf, claimsOf } from "./support/events.ts";

const ThingSchema = z.strictObject({
  name: z.string().max(5, "at most 5 characters"),
  size: z.strictObject({ width: z.number() }).optional(),
});

const handler = httpApi({
  "POST /things": async (req) => json(201, parse(ThingSchema, req.body())),
  "GET /things/{id}": async (req) => json(200, { id: req.params.id, tenant: req.caller.tenant, q: req.query }),
  "GET /boom": async () => {
    const err = new Error("connect ECONNREFUSED 10.0.0.7:8000 table=prod-secret-table");
    throw err;
  },
  "GET /public": { public: async () => json(200, { ok: true }) },
});

const PROBLEM = "application/problem+json; charset=utf-8";

describe("httpApi routing", () => {
  it("calls the route of the event's routeKey with path, query and caller", async () => {
    // Prepare
    const event = anEvent({
      routeKey: "GET /things/{id}",
      pathParameters: { id: "42" },
      queryStringParameters: { sort: "name" },
      claims: claimsOf("acme", "[sales]"),
    });

    // Act
    const res = await handler(event, aContext());

    // Assess
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual({ id: "42", tenant: "acme", q: { sort: "name" } });
  });

  it("answers 404 problem+json for a routeKey it does not serve", async () => {
    // Act
    const res = await handler(anEvent({ routeKey: "DELETE /things/{id}", requestId: "req-404" }), aContext());

    // Assess
    expect(res.statusCode).toBe(404);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    expect(bodyOf(res)).toMatchObject({ status: 404, title: "Not found", instance: "req-404" });
  });

  it("serves a public route without any claims", async () => {
    // Act
    const res = await handler(anEvent({ routeKey: "GET /public", claims: null }), aContext());

    // Assess
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual({ ok: true });
  });

  it("answers 401 on an authenticated route when the event carries no claims", async () => {
    // Act
    const res = await handler(
      anEvent({ routeKey: "GET /things/{id}", pathParameters: { id: "1" }, claims: null }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(401);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
  });

  it("answers 403 when the token carries no role the system knows", async () => {
    // Act
    const res = await handler(
      anEvent({ routeKey: "GET /things/{id}", pathParameters: { id: "1" }, claims: claimsOf("acme", "[guest]") }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(403);
  });
});

describe("httpApi request bodies", () => {
  it("parses a JSON body", async () => {
    // Act
    const res = await handler(anEvent({ routeKey: "POST /things", body: { name: "bolt" } }), aContext());

    // Assess
    expect(res.statusCode).toBe(201);
    expect(bodyOf(res)).toEqual({ name: "bolt" });
  });

  it("decodes a base64-encoded body before parsing it", async () => {
    // Prepare
    const body = Buffer.from(JSON.stringify({ name: "螺母" }), "utf8").toString("base64");

    // Act
    const res = await handler(
      anEvent({
        routeKey: "POST /things",
        body,
        isBase64Encoded: true,
        headers: { "Content-Type": "application/json" },
      }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(201);
    expect(bodyOf(res)).toEqual({ name: "螺母" });
  });

  it("answers 400 problem+json for a body that is not JSON", async () => {
    // Act
    const res = await handler(
      anEvent({ routeKey: "POST /things", body: '{"name": "bolt",', headers: { "content-type": "application/json" } }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(400);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    expect(bodyOf(res)).toMatchObject({
      type: "https://customer-master.dev/problems/bad-request",
      status: 400,
      detail: "request body is not valid JSON",
    });
  });

  it("answers 415 for a body sent as another media type", async () => {
    // Act
    const res = await handler(
      anEvent({
        routeKey: "POST /things",
        body: "name=bolt",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(415);
  });

  it("accepts a +json media type with parameters", async () => {
    // Act
    const res = await handler(
      anEvent({
        routeKey: "POST /things",
        body: '{"name":"nut"}',
        headers: { "content-type": "application/merge-patch+json; charset=utf-8" },
      }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(201);
  });

  it("answers 413 for a body over the size limit, counted in UTF-8 bytes", async () => {
    // Prepare: fewer characters than the limit, but each takes 3 bytes in UTF-8
    const name = "汉".repeat(Math.ceil(MAX_BODY_BYTES / 3) + 1);
    expect(name.length).toBeLessThan(MAX_BODY_BYTES);

    // Act
    const res = await handler(anEvent({ routeKey: "POST /things", body: { name } }), aContext());

    // Assess
    expect(res.statusCode).toBe(413);
  });

  it("names each unknown field, and nested ones by their path, in a 400", async () => {
    // Act
    const res = await handler(
      anEvent({ routeKey: "POST /things", body: { name: "bolt", tenant: "other", size: { width: 1, depth: 2 } } }),
      aContext(),
    );

    // Assess
    expect(res.statusCode).toBe(400);
    const body = bodyOf(res);
    expect(body.type).toBe("https://customer-master.dev/problems/validation");
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { path: "tenant", message: "unknown field" },
        { path: "size.depth", message: "unknown field" },
      ]),
    );
  });

  it("names a field that breaks its rule, with the rule's message", async () => {
    // Act
    const res = await handler(anEvent({ routeKey: "POST /things", body: { name: "too long" } }), aContext());

    // Assess
    expect(res.statusCode).toBe(400);
    expect(bodyOf(res).errors).toEqual([{ path: "name", message: "at most 5 characters" }]);
  });
});

describe("httpApi failures the client did not cause", () => {
  it("answers 500 with only 'internal error' and the request id: no message, no stack", async () => {
    // Act
    const res = await handler(anEvent({ routeKey: "GET /boom", requestId: "req-500" }), aContext());

    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    const body = bodyOf(res);
    expect(body).toEqual({
      type: "https://customer-master.dev/problems/internal",
      title: "Internal error",
      status: 500,
      detail: "internal error",
      instance: "req-500",
    });
    expect(res.body).not.toMatch(/ECONNREFUSED|prod-secret-table|\bat \w|\.ts:\d/);
  });
});

describe("fieldErrors and parse", () => {
  it("report the root when the whole value has the wrong type", () => {
    // Act
    const result = ThingSchema.safeParse("bolt");

    // Assess
    expect(result.success).toBe(false);
    expect(fieldErrors(result.error!)).toEqual([{ path: "(root)", message: expect.any(String) }]);
  });

  it("prefix each path, so errors of a nested part name where they are", () => {
    // Act
    const result = ThingSchema.safeParse({ name: "bolt", extra: 1 });

    // Assess
    expect(fieldErrors(result.error!, "rows.3")).toEqual([{ path: "rows.3.extra", message: "unknown field" }]);
  });

  it("throws a ValidationError that says what was invalid", () => {
    // Act
    const act = () => parse(ThingSchema, { name: 1 }, "query string");

    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow("query string is invalid");
  });
});
