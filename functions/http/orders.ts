// HTTP adapter for /v1/orders: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse, type Request } from "../../shared/http/api.ts";
import { NotFoundError } from "../../shared/http/errors.ts";
import { idempotencyOf } from "../../shared/http/idempotency.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion, versionFromIfMatch } from "../../shared/http/version.ts";
import {
  ActionBodySchema,
  OrderCreateSchema,
  OrderListQuerySchema,
  OrderPatchSchema,
  PaymentSchema,
} from "../../shared/domain/orders/schemas.ts";
import {
  actOnOrder,
  addPaymentOnce,
  createOrderOnce,
  getOrder,
  listOrders,
  patchOrder,
} from "../../shared/domain/orders/service.ts";
import { ORDER_ACTIONS, type OrderAction } from "../../shared/domain/orders/status.ts";

const orderId = (req: Request) => req.params.id ?? "";

export const handler = httpApi({
  "POST /v1/orders": async (req) => {
    const raw = req.body();
    const input = parse(OrderCreateSchema, raw);
    const res = await createOrderOnce(req.caller, input, idempotencyOf(req), req.requestId);
    const o = res.body as { id: string; version: number };
    return json(res.status, o, {
      location: `/v1/orders/${o.id}`,
      etag: `"${o.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/orders": async (req) =>
    json(200, await listOrders(req.caller, parse(OrderListQuerySchema, req.query, "query string"))),

  "GET /v1/orders/{id}": async (req) => {
    const o = await getOrder(req.caller, orderId(req));
    return json(200, o, { etag: `"${o.version}"` });
  },

  "PATCH /v1/orders/{id}": async (req) => {
    const patch = parse(OrderPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], patch.version)!;
    const o = await patchOrder(req.caller, orderId(req), patch, version, req.requestId);
    return json(200, o, { etag: `"${o.version}"` });
  },

  "POST /v1/orders/{id}/{action}": async (req) => {
    const action = req.params.action ?? "";
    if (action === "payments") {
      const raw = req.body();
      const input = parse(PaymentSchema, raw);
      // The order is part of what was asked: the same key on another order's payment is refused, not replayed.
      const res = await addPaymentOnce(req.caller, orderId(req), input, idempotencyOf(req), req.requestId);
      const o = res.body as { version: number };
      return json(res.status, o, {
        etag: `"${o.version}"`,
        ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
      });
    }
    if (!(ORDER_ACTIONS as readonly string[]).includes(action)) throw new NotFoundError(`no order action ${action}`);
    const body = parse(ActionBodySchema, req.body());
    const expected = versionFromIfMatch(req.headers["if-match"]);
    const o = await actOnOrder(req.caller, orderId(req), action as OrderAction, body, expected, req.requestId);
    return json(200, o, { etag: `"${o.version}"` });
  },
});
