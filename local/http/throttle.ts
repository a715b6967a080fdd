// API Gateway's route throttling, locally: a token bucket per route, shared by all callers, checked before the
// authorizer and the function; an empty bucket answers 429 {"message":"Too Many Requests"}.
import type { RouteLimits } from "../../shared/config/throttle.ts";

/**
 * A bucket of `burstLimit` tokens, full at first, refilled continuously at `rateLimit` tokens per second; each request
 * takes one. The clock is injected (epoch milliseconds) so that tests need no sleeps.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly limits: RouteLimits,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limits.rateLimit >= 0) || !(limits.burstLimit >= 0)) {
      throw new Error(`throttle limits must not be negative: ${JSON.stringify(limits)}`);
    }
    this.tokens = limits.burstLimit;
    this.last = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left now (fractional while refilling). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last);
    this.last = Math.max(this.last, t);
    this.tokens = Math.min(this.limits.burstLimit, this.tokens + (elapsed * this.limits.rateLimit) / 1000);
  }
}

/** One bucket per route key, created on first use with the limits `limitsOf` gives for it. */
export class RouteThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limitsOf: (routeKey: string) => RouteLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the route may serve one more request now. */
  allow(routeKey: string): boolean {
    let bucket = this.buckets.get(routeKey);
    if (!bucket) {
      bucket = new TokenBucket(this.limitsOf(routeKey), this.now);
      this.buckets.set(routeKey, bucket);
    }
    return bucket.take();
  }
}
