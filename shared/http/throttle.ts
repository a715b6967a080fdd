// The per-tenant limiter every HTTP function runs: a fixed-window counter per tenant in the single table.
//
// API Gateway HTTP APIs throttle per route (token buckets shared by all callers) and cannot key a limit on a JWT claim,
// so the per-tenant limit lives here, in the function, where the verified tenant is known. One conditional UpdateItem
// per authenticated request keeps a counter per tenant and window, shared by every function and Lambda instance.
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from "aws-lambda";
import {
  RATE_ITEM_GRACE_SECONDS,
  type TenantLimits,
  rateKeys,
  tenantLimitsFromEnv,
  windowAt,
} from "../config/throttle.ts";
import { ddb } from "../db/client.ts";
import { TTL_ATTRIBUTE } from "../db/table.ts";
import { logger } from "../log/logger.ts";
import { TooManyRequestsError } from "./errors.ts";
import { type HttpResult, problem } from "./response.ts";

/** Options of {@link tenantRateLimit}; all default to the function's environment. */
export interface TenantRateLimitOptions {
  /** The limit; `null` turns the limiter off. @default tenantLimitsFromEnv() */
  limits?: TenantLimits | null;
  /** @default process.env.TABLE_NAME */
  tableName?: string;
  /** Clock in epoch milliseconds (tests inject one). @default Date.now */
  now?: () => number;
}

type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

/** The tenant claim the JWT authorizer verified, or undefined (public route, no token): the handler decides then. */
function tenantOf(event: HttpEvent): string | undefined {
  const claims = event.requestContext?.authorizer?.jwt?.claims as Record<string, unknown> | undefined;
  const tenant = claims?.tenant ?? claims?.["custom:tenant"];
  return typeof tenant === "string" && tenant !== "" ? tenant : undefined;
}

/** The 429 a tenant gets over its limit: problem+json with Retry-After. */
export function tooManyRequests(requestId: string, retryAfterSeconds: number): HttpResult {
  const res = problem(
    new TooManyRequestsError(`the tenant's request rate limit is exceeded; retry after ${retryAfterSeconds} s`),
    requestId,
  );
  return { ...res, headers: { ...res.headers, "retry-after": String(retryAfterSeconds) } };
}

/**
 * Middy middleware limiting each tenant's requests: one conditional UpdateItem on `T#<tenant>#RATE#<window>` per
 * authenticated request (ADD n, only while n < limit); a refused condition answers 429 before the handler runs.
 * A DynamoDB failure other than the refused condition lets the request through (logged): the limiter protects the
 * service, it must not take it down. Off (a no-op) when no limit is configured.
 */
export function tenantRateLimit(
  options: TenantRateLimitOptions = {},
): MiddlewareObj<HttpEvent, HttpResult, Error, Context> {
  const limits = options.limits === undefined ? tenantLimitsFromEnv() : options.limits;
  if (!limits) return { before: () => undefined };
  const tableName = options.tableName ?? process.env.TABLE_NAME;
  if (!tableName) throw new Error("the tenant rate limit needs TABLE_NAME");
  const now = options.now ?? Date.now;

  return {
    before: async (request) => {
      const tenant = tenantOf(request.event);
      if (!tenant) return undefined;
      const nowMs = now();
      const window = windowAt(limits, nowMs);
      try {
        await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { PK: rateKeys.pk(tenant, window.index), SK: rateKeys.sk() },
            UpdateExpression: "ADD #n :one SET #exp = :exp",
            ConditionExpression: "attribute_not_exists(#n) OR #n < :limit",
            ExpressionAttributeNames: { "#n": "n", "#exp": TTL_ATTRIBUTE },
            ExpressionAttributeValues: {
              ":one": 1,
              ":limit": window.limit,
              ":exp": Math.ceil(window.endMs / 1000) + RATE_ITEM_GRACE_SECONDS,
            },
          }),
        );
        return undefined;
      } catch (err) {
        if ((err as { name?: string }).name === "ConditionalCheckFailedException") {
          const requestId = request.event.requestContext?.requestId ?? request.context.awsRequestId;
          logger.info("request refused", { status: 429, reason: "TenantRateLimit", tenant, limit: window.limit });
          return tooManyRequests(requestId, window.retryAfterSeconds);
        }
        logger.warn("tenant rate limit not checked", err as Error);
        return undefined;
      }
    },
  };
}
