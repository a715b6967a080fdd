// The Idempotency-Key of a request, for the routes that start something (kept apart from api.ts, so functions without
// such routes do not load the idempotency store).
import { type IdempotencyContext, idempotencyFrom } from "../domain/idempotency/idempotency.ts";
import type { Request } from "./api.ts";

/**
 * The request's Idempotency-Key, bound to its method, its path with the resource's own ids, and its body (so the same
 * key sent to another resource, or with another body, is refused); undefined when the request carries none.
 */
export function idempotencyOf(req: Request): IdempotencyContext | undefined {
  const route = `${req.event.requestContext.http.method} ${req.event.rawPath}`;
  return idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], route, req.body() ?? null);
}
