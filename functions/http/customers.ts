// HTTP adapter for /v1/customers: parse, call one use case, shape the response.
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { customerId } from "../../shared/http/params.ts";
import { json } from "../../shared/http/response.ts";
import { expectedVersion, versionFromIfMatch } from "../../shared/http/version.ts";
import {
  createCustomer,
  customer360,
  deleteCustomer,
  getCustomer,
  listCustomers,
  patchCustomer,
} from "../../shared/domain/customers/service.ts";
import {
  CustomerCreateSchema,
  CustomerListQuerySchema,
  CustomerPatchSchema,
} from "../../shared/domain/customers/schemas.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";

export const handler = httpApi({
  "POST /v1/customers": async (req) => {
    const raw = req.body();
    const input = parse(CustomerCreateSchema, raw);
    const idem = idempotencyFrom(req.caller.tenant, req.headers["idempotency-key"], "POST /v1/customers", raw);
    const res = await createCustomer(req.caller, input, idem, req.requestId);
    const body = res.body as { id: string; version: number };
    return json(res.status, body, {
      location: `/v1/customers/${body.id}`,
      etag: `"${body.version}"`,
      ...(res.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },

  "GET /v1/customers": async (req) => {
    const q = parse(CustomerListQuerySchema, req.query, "query string");
    return json(200, await listCustomers(req.caller, q));
  },

  "GET /v1/customers/{id}": async (req) => {
    const c = await getCustomer(req.caller, customerId(req));
    return json(200, c, { etag: `"${c.version}"` });
  },

  "PATCH /v1/customers/{id}": async (req) => {
    const id = customerId(req);
    const patch = parse(CustomerPatchSchema, req.body() ?? {});
    const version = expectedVersion(req.headers["if-match"], patch.version)!;
    const c = await patchCustomer(req.caller, id, patch, version, req.requestId);
    return json(200, c, { etag: `"${c.version}"` });
  },

  "DELETE /v1/customers/{id}": async (req) => {
    const id = customerId(req);
    const c = await deleteCustomer(req.caller, id, versionFromIfMatch(req.headers["if-match"]), req.requestId);
    return json(200, c);
  },

  "GET /v1/customers/{id}/360": async (req) => json(200, await customer360(req.caller, customerId(req))),
});
