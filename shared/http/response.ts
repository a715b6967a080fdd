// Response builders: JSON bodies and RFC 9457 problem+json.
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { type AppError, problemType } from "./errors.ts";

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** A JSON response with the given status. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

/** A problem+json response for a client error; `instance` is the request id. */
export function problem(err: AppError, requestId: string): HttpResult {
  const body: Record<string, unknown> = {
    type: problemType(err),
    title: err.title,
    status: err.status,
    detail: err.message,
    instance: requestId,
  };
  if (err.errors?.length) body.errors = err.errors;
  return {
    statusCode: err.status,
    headers: { "content-type": "application/problem+json; charset=utf-8" },
    body: JSON.stringify(body),
  };
}

/** The only body a 5xx ever has: no detail, just the request id to quote to support. */
export function internalError(requestId: string): HttpResult {
  return {
    statusCode: 500,
    headers: { "content-type": "application/problem+json; charset=utf-8" },
    body: JSON.stringify({
      type: "https://customer-master.dev/problems/internal",
      title: "Internal error",
      status: 500,
      detail: "internal error",
      instance: requestId,
    }),
  };
}
