// Throttling configuration and arithmetic, free of SDK and logger so that CDK and the local runtime can import it:
// the shapes of the limits (set once in functions/manifest.ts), how a route's limits are found, how the tenant limit
// travels to the functions in their environment, and the fixed windows the tenant limiter counts in.
import * as z from "zod";

/** Limits of one route, in API Gateway's terms: a token bucket of `burstLimit` tokens refilled at `rateLimit`/s. */
export interface RouteLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** Limits of one tenant over all its authenticated requests together. */
export interface TenantLimits {
  /** Sustained requests per second. */
  readonly ratePerSecond: number;
  /** Requests allowed at once; also the count allowed per window (the window lasts burst / ratePerSecond). */
  readonly burst: number;
}

/** All throttling of the API: the one source CDK and the local runtime both read. */
export interface ThrottlingDef {
  /** Limits of every route not listed below (the stage's default route settings; each route has its own bucket). */
  readonly default: RouteLimits;
  /** Limits of every public (`auth: false`) route not listed in `routes`. */
  readonly publicRoutes?: RouteLimits;
  /** Limits of single routes by route key (`POST /v1/customers`). */
  readonly routes?: Readonly<Record<string, RouteLimits>>;
  /** Per-tenant limit enforced by the functions; absent means none. */
  readonly tenant?: TenantLimits;
}

/** A route's own limits, or undefined when the default applies. */
export function routeLimitsOf(
  config: ThrottlingDef,
  route: { method: string; path: string; auth: boolean },
): RouteLimits | undefined {
  return config.routes?.[`${route.method} ${route.path}`] ?? (route.auth ? undefined : config.publicRoutes);
}

/** Route keys the config names that no route has (a typo would otherwise silently fall back to the default). */
export function unknownRouteKeys(config: ThrottlingDef, routeKeys: Iterable<string>): string[] {
  const known = new Set(routeKeys);
  return Object.keys(config.routes ?? {}).filter((k) => !known.has(k));
}

/** Names of the environment variables that carry the tenant limit to the functions. */
export const TENANT_LIMIT_ENV = { rate: "TENANT_RATE_PER_SECOND", burst: "TENANT_BURST" } as const;

/** The environment that turns the tenant limit on in a function. */
export function tenantLimitEnv(limits: TenantLimits | undefined): Record<string, string> {
  if (!limits) return {};
  return { [TENANT_LIMIT_ENV.rate]: String(limits.ratePerSecond), [TENANT_LIMIT_ENV.burst]: String(limits.burst) };
}

const positive = z.coerce.number().positive().finite();
const LimitEnv = z.object({
  [TENANT_LIMIT_ENV.rate]: z.preprocess((v) => (v === "" ? undefined : v), positive.optional()),
  [TENANT_LIMIT_ENV.burst]: z.preprocess((v) => (v === "" ? undefined : v), positive.int().optional()),
});

/**
 * The tenant limit from the environment, or undefined (off) when TENANT_RATE_PER_SECOND is absent. Without
 * TENANT_BURST the burst is one second's worth of requests. An invalid value stops the cold start.
 */
export function tenantLimitsFromEnv(
  source: Record<string, string | undefined> = process.env,
): TenantLimits | undefined {
  const parsed = LimitEnv.safeParse(source);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid environment: ${detail}`);
  }
  const rate = parsed.data[TENANT_LIMIT_ENV.rate];
  if (rate === undefined) return undefined;
  return { ratePerSecond: rate, burst: parsed.data[TENANT_LIMIT_ENV.burst] ?? Math.max(1, Math.ceil(rate)) };
}

/** The fixed window a moment falls in: its index (the same in every Lambda instance), limit and end. */
export interface Window {
  index: number;
  /** Requests allowed in it. */
  limit: number;
  endMs: number;
  /** Whole seconds until it ends, at least 1: the Retry-After of a refused request. */
  retryAfterSeconds: number;
}

/**
 * Fixed windows of `burst / ratePerSecond` seconds, each allowing `burst` requests: the sustained rate is
 * `ratePerSecond`, at most `burst` requests arrive at once (up to twice that across a window boundary, the usual
 * fixed-window trade for a single counter).
 */
export function windowAt(limits: TenantLimits, nowMs: number): Window {
  const lengthMs = Math.max(1, Math.round((1000 * limits.burst) / limits.ratePerSecond));
  const index = Math.floor(nowMs / lengthMs);
  const endMs = (index + 1) * lengthMs;
  return {
    index,
    limit: limits.burst,
    endMs,
    retryAfterSeconds: Math.max(1, Math.ceil((endMs - nowMs) / 1000)),
  };
}

/** Key of a tenant's counter for one window; the item expires (TTL) shortly after the window. */
export const rateKeys = {
  pk: (tenant: string, windowIndex: number) => `T#${tenant}#RATE#${windowIndex}`,
  sk: () => "RATE",
  /** IAM `StringLike` pattern of every counter's partition key (for a grant limited to the counters). */
  pkPattern: () => "T#*#RATE#*",
};

/** How long a counter outlives its window before TTL may delete it. */
export const RATE_ITEM_GRACE_SECONDS = 60;
