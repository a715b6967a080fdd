// Builds the API Gateway HTTP API (payload format 2.0) event and maps the Lambda result back, as API Gateway does.
import { randomBytes, randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import { LOCAL_ACCOUNT_ID } from "../lambda/context.ts";
import type { RouteMatch } from "./routes.ts";

export type HttpApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

export interface IncomingRequest {
  method: string;
  /** The request target as received: raw path plus optional `?query`. */
  url: string;
  /** Lower-cased header names with every value received. */
  headers: Record<string, string[]>;
  body: Buffer;
  sourceIp: string;
  /** e.g. HTTP/1.1 */
  protocol: string;
  /** The port the request came in on (x-forwarded-port). */
  port: number;
}

export const LOCAL_API_ID = "local";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** requestContext.time: `12/Mar/2020:19:03:58 +0000`. */
export function apiGatewayTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Content types API Gateway passes as text; any other body (or one without a content type) arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return (
    t.startsWith("text/") ||
    t === "application/json" ||
    t.endsWith("+json") ||
    t === "application/xml" ||
    t.endsWith("+xml") ||
    t === "application/javascript" ||
    t === "application/graphql"
  );
}

/** Claims the way the JWT authorizer hands them over: every value a string, arrays as "[a b]". */
export function apiGatewayClaims(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) out[k] = `[${v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")}]`;
    else if (typeof v === "object") out[k] = JSON.stringify(v);
    else out[k] = String(v);
  }
  return out;
}

/** Splits `a=1&b=2&a=3` into decoded parameters, repeated names comma-joined; undefined when there are none. */
export function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const out: Record<string, string> = {};
  for (const pair of rawQueryString.split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const name = safeDecode(i < 0 ? pair : pair.slice(0, i));
    const value = i < 0 ? "" : safeDecode(pair.slice(i + 1));
    out[name] = name in out ? `${out[name]},${value}` : value;
  }
  return Object.keys(out).length ? out : undefined;
}

export interface BuildEventOptions {
  /** Verified token claims (already converted with apiGatewayClaims); absent on public routes. */
  claims?: Record<string, string>;
  scopes?: string[] | null;
  requestId?: string;
  now?: Date;
}

export function buildHttpEvent(req: IncomingRequest, match: RouteMatch, opts: BuildEventOptions = {}): HttpApiEvent {
  const now = opts.now ?? new Date();
  const q = req.url.indexOf("?");
  const encodedPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQueryString = q < 0 ? "" : req.url.slice(q + 1);
  // HTTP APIs hand the function the decoded path.
  const rawPath = safeDecode(encodedPath);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(req.headers)) {
    if (name === "cookie") {
      cookies = values
        .flatMap((v) => v.split(";"))
        .map((c) => c.trim())
        .filter(Boolean);
      continue;
    }
    headers[name] = values.join(",");
  }
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${req.sourceIp}`
    : req.sourceIp;
  headers["x-forwarded-port"] = String(req.port);
  headers["x-forwarded-proto"] = "http";
  headers["x-amzn-trace-id"] =
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;

  const host = (headers.host ?? "localhost").replace(/:\d+$/, "");
  const requestContext: HttpApiEvent["requestContext"] = {
    accountId: LOCAL_ACCOUNT_ID,
    apiId: LOCAL_API_ID,
    domainName: host,
    domainPrefix: host.split(".")[0] ?? host,
    http: {
      method: req.method.toUpperCase(),
      path: rawPath,
      protocol: req.protocol,
      sourceIp: req.sourceIp,
      userAgent: headers["user-agent"] ?? "",
    },
    requestId: opts.requestId ?? randomUUID(),
    routeKey: match.route.routeKey,
    stage: "$default",
    time: apiGatewayTime(now),
    timeEpoch: now.getTime(),
  } as HttpApiEvent["requestContext"];
  if (opts.claims) requestContext.authorizer = { jwt: { claims: opts.claims, scopes: opts.scopes ?? null } };

  const event: HttpApiEvent = {
    version: "2.0",
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext,
    isBase64Encoded: false,
  };
  if (cookies?.length) event.cookies = cookies;
  const query = queryParameters(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (Object.keys(match.params).length) event.pathParameters = { ...match.params };
  if (req.body.length > 0) {
    if (isTextContentType(headers["content-type"])) {
      event.body = req.body.toString("utf8");
    } else {
      event.body = req.body.toString("base64");
      event.isBase64Encoded = true;
    }
  }
  return event;
}

export interface MappedResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/**
 * Reads a function's result like API Gateway (format 2.0): an object with statusCode is a structured response;
 * anything else is a 200 JSON body. Throws when the structured response is malformed (API Gateway answers 500).
 */
export function mapLambdaResult(result: unknown): MappedResponse {
  const structured = typeof result === "object" && result !== null && !Array.isArray(result) && "statusCode" in result;
  if (!structured) {
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      cookies: [],
      body: Buffer.from(JSON.stringify(result ?? null), "utf8"),
    };
  }
  const r = result as {
    statusCode: unknown;
    headers?: unknown;
    cookies?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const statusCode = Number(r.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599)
    throw new Error(`invalid statusCode ${String(r.statusCode)}`);
  const headers: Record<string, string> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== "object") throw new Error("headers must be an object");
    for (const [k, v] of Object.entries(r.headers)) {
      if (v === undefined || v === null) continue;
      if (typeof v === "object") throw new Error(`header ${k} must be a string, number or boolean`);
      headers[k.toLowerCase()] = String(v);
    }
  }
  let cookies: string[] = [];
  if (r.cookies !== undefined && r.cookies !== null) {
    if (!Array.isArray(r.cookies)) throw new Error("cookies must be a list of strings");
    cookies = r.cookies.map(String);
  }
  let body = Buffer.alloc(0);
  if (r.body !== undefined && r.body !== null) {
    if (typeof r.body !== "string") throw new Error("body must be a string");
    body = r.isBase64Encoded === true ? Buffer.from(r.body, "base64") : Buffer.from(r.body, "utf8");
  }
  return { statusCode, headers, cookies, body };
}
