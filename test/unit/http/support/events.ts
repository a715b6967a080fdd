// Hand-built API Gateway HTTP API (v2) events with JWT authorizer claims, and a minimal Lambda context.
import type { Context } from "aws-lambda";
import type { HttpEvent } from "../../../../shared/http/api.ts";

export interface EventOptions {
  routeKey: string;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | object;
  isBase64Encoded?: boolean;
  /** JWT claims as API Gateway passes them; `null` for a request the authorizer let through without any. */
  claims?: Record<string, string> | null;
  requestId?: string;
}

/** Claims of an admin of `tenant`, with roles in API Gateway's "[a b]" string form. */
export function claimsOf(tenant: string, roles = "[admin]", sub = "u-alice"): Record<string, string> {
  return { sub, tenant, roles };
}

/** An event for `routeKey`; objects given as `body` are sent as JSON with a JSON content type. */
export function anEvent(o: EventOptions): HttpEvent {
  const [method, path] = o.routeKey.split(" ") as [string, string];
  const rawPath = path.replace(/\{(\w+)\}/g, (_m, name: string) => o.pathParameters?.[name] ?? "");
  const body = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
  const headers = { ...(typeof o.body === "object" ? { "content-type": "application/json" } : {}), ...o.headers };
  const claims = o.claims === undefined ? claimsOf("acme") : o.claims;
  return {
    version: "2.0",
    routeKey: o.routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(o.queryStringParameters ?? {}).toString(),
    headers,
    queryStringParameters: o.queryStringParameters,
    pathParameters: o.pathParameters,
    body,
    isBase64Encoded: o.isBase64Encoded ?? false,
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.test",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "vitest" },
      requestId: o.requestId ?? "req-1",
      routeKey: o.routeKey,
      stage: "$default",
      time: "01/Jan/2026:00:00:00 +0000",
      timeEpoch: 1767225600000,
      ...(claims === null
        ? {}
        : { authorizer: { principalId: "", integrationLatency: 0, jwt: { claims, scopes: [] } } }),
    },
  } as HttpEvent;
}

/** Just enough of a Lambda context for middy and the logger. */
export function aContext(awsRequestId = "lambda-req-1"): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "customers",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:customers",
    memoryLimitInMB: "256",
    awsRequestId,
    logGroupName: "/aws/lambda/customers",
    logStreamName: "stream",
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The parsed JSON body of a response. */
export function bodyOf(res: { body?: string }): Record<string, unknown> {
  return JSON.parse(res.body ?? "null") as Record<string, unknown>;
}
