// HTTP adapter for POST /v1/customers/{id}/restore: out of the recycle bin, or (with ?at=) back to how the customer
// was at a time, from the latest backup before then plus the audit log after it. Its own function: the point-in-time
// restore reads the backups bucket, which the customers function has no grant for (and need not bundle).
// adapter --> (use case) --> domain & repositories
import { httpApi, parse } from "../../shared/http/api.ts";
import { customerId } from "../../shared/http/params.ts";
import { json } from "../../shared/http/response.ts";
import { restoreCustomer } from "../../shared/domain/customers/service.ts";
import { restoreCustomerAt } from "../../shared/domain/backups/point-in-time.ts";
import { PointInTimeQuerySchema } from "../../shared/domain/backups/schemas.ts";

export const handler = httpApi({
  "POST /v1/customers/{id}/restore": async (req) => {
    if (Object.keys(req.query).length > 0) {
      const { at } = parse(PointInTimeQuerySchema, req.query, "query string");
      const c = await restoreCustomerAt(req.caller, customerId(req), new Date(at), req.requestId);
      return json(200, c, { etag: `"${c.version}"` });
    }
    const c = await restoreCustomer(req.caller, customerId(req), req.requestId);
    return json(200, c, { etag: `"${c.version}"` });
  },
});
