// The per-tenant limiter every HTTP function runs: a fixed-window counter per tenant in the single table.
//
// API Gateway HTTP APIs throttle per route (token buckets shared by all callers) and cannot key a limit on a JWT claim,
// so the per-tenant limit lives here, in the function, where the verified tenant is known. A counter per tenant and
// window, shared by every function and Lambda instance, is advanced by conditional UpdateItems. An instance takes a
// small block of the window's requests at once (a twentieth of the limit) and serves from it until it is spent, so
// most requests cost no DynamoDB call; near the limit it takes one at a time, so the limit is never exceeded (at
// worst a tenant is refused a few requests early, by what other instances hold unspent).
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

/** Requests an instance takes from a window's counter at once: a twentieth of the limit, between 1 and 25. */
export function blockOf(limit: number): number {
  return Math.max(1, Math.min(25, Math.floor(limit / 20)));
}

/**
 * Middy middleware limiting each tenant's requests through the counter `T#<tenant>#RATE#<window>`: a conditional
 * UpdateItem takes a block of requests (ADD b, only while n + b <= limit) or, when no whole block is left, one
 * (ADD 1, only while n < limit); requests are served from the block held until it is spent. A refused condition
 * answers 429 before the handler runs.
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
  /** Requests this instance holds unspent, per tenant, for one window; `full` once the window's limit is reached. */
  const held = new Map<string, { window: number; left: number; full?: boolean }>();

  /** Takes `n` requests from the tenant's counter, only while at most `limit` are taken in all. */
  const take = (tenant: string, window: ReturnType<typeof windowAt>, n: number) =>
    ddb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { PK: rateKeys.pk(tenant, window.index), SK: rateKeys.sk() },
        UpdateExpression: "ADD #n :take SET #exp = :exp",
        ConditionExpression: "attribute_not_exists(#n) OR #n < :limit",
        ExpressionAttributeNames: { "#n": "n", "#exp": TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ":take": n,
          ":limit": window.limit - n + 1,
          ":exp": Math.ceil(window.endMs / 1000) + RATE_ITEM_GRACE_SECONDS,
        },
      }),
    );

  return {
    before: async (request) => {
      const tenant = tenantOf(request.event);
      if (!tenant) return undefined;
      const nowMs = now();
      const window = windowAt(limits, nowMs);
      const requestId = () => request.event.requestContext?.requestId ?? request.context.awsRequestId;
      const mine = held.get(tenant);
      if (mine?.window === window.index && mine.left > 0) {
        mine.left--;
        return undefined;
      }
      // The counter only grows within a window: once it refused, it refuses until the window ends.
      if (mine?.window === window.index && mine.full) return tooManyRequests(requestId(), window.retryAfterSeconds);
      const block = Math.min(blockOf(window.limit), window.limit);
      try {
        try {
          await take(tenant, window, block);
          held.set(tenant, { window: window.index, left: block - 1 });
        } catch (err) {
          if (block === 1 || (err as { name?: string }).name !== "ConditionalCheckFailedException") throw err;
          await take(tenant, window, 1); // less than a block left: one request at a time, to the exact limit
          held.set(tenant, { window: window.index, left: 0 });
        }
        return undefined;
      } catch (err) {
        if ((err as { name?: string }).name === "ConditionalCheckFailedException") {
          held.set(tenant, { window: window.index, left: 0, full: true });
          logger.info("request refused", { status: 429, reason: "TenantRateLimit", tenant, limit: window.limit });
          return tooManyRequests(requestId(), window.retryAfterSeconds);
        }
        logger.warn("tenant rate limit not checked", err as Error);
        return undefined;
      }
    },
  };
}
